#!lua
--[[
  apply-batch-5.lua: apply one partition batch of a processor atomically, or nothing.

  Checks that the partition's watermarks are exactly what the caller loaded (optimistic
  concurrency: another instance that applied since, a rebuild or a flushed Redis all change them)
  and that the state belongs to the caller's epoch; then writes the state puts and deletes, records
  the applied event ids, writes the read-model (view) fields, sets or clears the partition's meta
  fields ('@catchup'), advances the watermarks and prunes seen ids older than the cutoff. Redis
  runs a script without interleaving other commands, so readers see all of it or none of it.

  KEYS[1]  state hash       state key -> JSON
  KEYS[2]  watermark hash   input topic -> last applied offset; '@epoch' -> epoch
  KEYS[3]  seen zset        '<topic>|<eventId>' scored by time (ms)
  KEYS[4]  outbox hash      '<seq>' -> the batch's records to produce (runtime/processor/outbox.ts,
                            binary), written with the state; the caller deletes the field once
                            Kafka acknowledged them
  KEYS[5..] view hashes     the partition's view keys this batch writes (same hash tag)

  ARGV[1]  epoch            the processor epoch the caller runs under
  ARGV[2]  cutoff           seen members scored below this are pruned
  ARGV[3]  pruneLimit       prune at most this many members per call (bounded script time)
  ARGV[4]  nExpected        number of (topic, offset) pairs expected to be stored
  ARGV[5]  nNew             number of (topic, offset) pairs to store
  ARGV[6]  nPuts            number of (key, json) pairs to write
  ARGV[7]  nDeletes         number of keys to delete
  ARGV[8]  nSeen            number of (time, member) pairs to record
  ARGV[9]  nViews           number of (keyIndex, field, json) triples; json '' deletes the field
  ARGV[10] nMetaSet         number of (field, value) pairs to set in the watermark hash
  ARGV[11] nMetaDel         number of watermark-hash fields to delete
  ARGV[12] outbox           the records this batch produces (bytes), '' for none: stored under the
                            next '@outseq' so that exactly the applied batches' records are sent
  ARGV[13..]                the expected pairs, new pairs, puts, deletes, seen pairs, view triples,
                            meta pairs and meta deletions, in that order

  Watermark fields starting with '@' are meta ('@epoch', '@catchup'), never topics.

  Returns  'applied:<seq>' (the outbox field the batch's records were stored under: the caller
           produces them from memory and deletes that field), 'applied' (no records),
           'fenced:epoch' (the partition belongs to another epoch) or 'fenced:watermark' (the
           stored watermarks differ from the expected ones); a fenced call writes nothing.
  (apply-batch-4 returned 'applied' for both: its callers re-read the whole outbox.)

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
local nViews = tonumber(ARGV[9])
local nMetaSet = tonumber(ARGV[10])
local nMetaDel = tonumber(ARGV[11])
local outbox = ARGV[12]

local expectedFrom = 13
local newFrom = expectedFrom + 2 * nExpected
local putsFrom = newFrom + 2 * nNew
local deletesFrom = putsFrom + 2 * nPuts
local seenFrom = deletesFrom + nDeletes
local viewsFrom = seenFrom + 2 * nSeen
local metaSetFrom = viewsFrom + 3 * nViews
local metaDelFrom = metaSetFrom + 2 * nMetaSet

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
  elseif string.sub(stored[i], 1, 1) == '@' then
    -- another meta field: not a topic
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

-- 4. The read model.
for i = viewsFrom, metaSetFrom - 1, 3 do
  local key = KEYS[tonumber(ARGV[i])]
  if ARGV[i + 2] == '' then
    redis.call('HDEL', key, ARGV[i + 1])
  else
    redis.call('HSET', key, ARGV[i + 1], ARGV[i + 2])
  end
end

-- 5. The records to produce, numbered in apply order.
local field = nil
if outbox ~= '' then
  local seq = redis.call('HINCRBY', KEYS[2], '@outseq', 1)
  field = string.format('%012d', seq)
  redis.call('HSET', KEYS[4], field, outbox)
end

-- 6. Watermarks, stamped with the epoch, and meta fields.
redis.call('HSET', KEYS[2], EPOCH_FIELD, epoch)
if nNew > 0 then
  sliced('HSET', KEYS[2], newFrom, 2 * nNew)
end
if nMetaSet > 0 then
  sliced('HSET', KEYS[2], metaSetFrom, 2 * nMetaSet)
end
if nMetaDel > 0 then
  sliced('HDEL', KEYS[2], metaDelFrom, nMetaDel)
end

if field then
  return 'applied:' .. field
end
return 'applied'
