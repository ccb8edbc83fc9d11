#!lua
--[[
  apply-batch-3.lua: apply one partition batch of a processor atomically, or nothing.

  Checks that the partition's watermarks are exactly what the caller loaded (optimistic
  concurrency: another instance that applied since, a rebuild or a flushed Redis all change them)
  and that the state belongs to the caller's epoch; then writes the state puts and deletes, records
  the applied event ids, advances the watermarks and prunes seen ids older than the cutoff. Redis
  runs a script without interleaving other commands, so readers see all of it or none of it.

  KEYS[1]  state hash       state key -> JSON
  KEYS[2]  watermark hash   input topic -> last applied offset; '@epoch' -> epoch
  KEYS[3]  seen zset        '<topic>|<eventId>' scored by time (ms)

  ARGV[1]  epoch            the processor epoch the caller runs under
  ARGV[2]  cutoff           seen members scored below this are pruned
  ARGV[3]  pruneLimit       prune at most this many members per call (bounded script time)
  ARGV[4]  nExpected        number of (topic, offset) pairs expected to be stored
  ARGV[5]  nNew             number of (topic, offset) pairs to store
  ARGV[6]  nPuts            number of (key, json) pairs to write
  ARGV[7]  nDeletes         number of keys to delete
  ARGV[8]  nSeen            number of (time, member) pairs to record
  ARGV[9..]                 the expected pairs, new pairs, puts, deletes and seen pairs, in that order

  Returns  'applied', 'fenced:epoch' (the partition belongs to another epoch) or
           'fenced:watermark' (the stored watermarks differ from the expected ones);
           a fenced call writes nothing.

  The `#!lua` line (Redis >= 7.0) declares the script as writing, so Redis refuses it up front
  when out of memory instead of failing halfway: Lua scripts are not rolled back. Every check
  that can refuse the batch runs before the first write for the same reason.
]]

local EPOCH_FIELD = '@epoch'
-- unpack() pushes its results on the Lua C stack (limit ~8000): write in slices.
local SLICE = 500

local epoch = ARGV[1]
local cutoff = ARGV[2]
local pruneLimit = tonumber(ARGV[3])
local nExpected = tonumber(ARGV[4])
local nNew = tonumber(ARGV[5])
local nPuts = tonumber(ARGV[6])
local nDeletes = tonumber(ARGV[7])
local nSeen = tonumber(ARGV[8])

local expectedFrom = 9
local newFrom = expectedFrom + 2 * nExpected
local putsFrom = newFrom + 2 * nNew
local deletesFrom = putsFrom + 2 * nPuts
local seenFrom = deletesFrom + nDeletes

-- Runs `command key args[from..from+count-1]` in slices of at most SLICE arguments, keeping
-- pairs together (SLICE is even).
local function sliced(command, key, from, count)
  local last = from + count - 1
  local i = from
  while i <= last do
    local j = math.min(i + SLICE - 1, last)
    redis.call(command, key, unpack(ARGV, i, j))
    i = j + 1
  end
end

-- 1. Fence: the stored watermarks must equal the expected ones, field for field.
local stored = redis.call('HGETALL', KEYS[2])
local current = {}
local storedTopics = 0
for i = 1, #stored, 2 do
  if stored[i] == EPOCH_FIELD then
    if stored[i + 1] ~= epoch then
      return 'fenced:epoch'
    end
  else
    current[stored[i]] = stored[i + 1]
    storedTopics = storedTopics + 1
  end
end
if storedTopics ~= nExpected then
  return 'fenced:watermark'
end
for i = expectedFrom, newFrom - 1, 2 do
  if current[ARGV[i]] ~= ARGV[i + 1] then
    return 'fenced:watermark'
  end
end

-- 2. State.
if nPuts > 0 then
  sliced('HSET', KEYS[1], putsFrom, 2 * nPuts)
end
if nDeletes > 0 then
  sliced('HDEL', KEYS[1], deletesFrom, nDeletes)
end

-- 3. Seen ids: prune the old ones first, so a replayed id recorded now is never pruned by its own batch.
if pruneLimit > 0 then
  local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. cutoff, 'LIMIT', 0, pruneLimit)
  for i = 1, #old, SLICE do
    redis.call('ZREM', KEYS[3], unpack(old, i, math.min(i + SLICE - 1, #old)))
  end
end
if nSeen > 0 then
  sliced('ZADD', KEYS[3], seenFrom, 2 * nSeen)
end

-- 4. Watermarks, stamped with the epoch.
redis.call('HSET', KEYS[2], EPOCH_FIELD, epoch)
if nNew > 0 then
  sliced('HSET', KEYS[2], newFrom, 2 * nNew)
end

return 'applied'
