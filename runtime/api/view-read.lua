-- One read of the API (runtime/api/view-reader.ts), atomic like the MULTI it replaces but one
-- command for the client to build and parse instead of two per partition (README "Benchmarks").
--
-- KEYS: for each store: its epoch key, then the watermark hash of each of its partitions; then
--       the view hashes to read.
-- ARGV: the epoch and catch-up field names of a watermark hash, the store count S, then each
--       store's partition count; then per view hash its read:
--       'A' (HGETALL), 'G' <field> (HGET), 'M' <count> <field>... (HMGET).
-- Reply: per store, its epoch then per partition {@epoch, @catchup}; then per view hash its
--        answer (HGETALL as a flat field/value list).
local reply = {}
local k = 1
local epochField, catchupField = ARGV[1], ARGV[2]
local stores = tonumber(ARGV[3])
for s = 1, stores do
  local n = tonumber(ARGV[3 + s])
  reply[#reply + 1] = redis.call('GET', KEYS[k])
  k = k + 1
  for _ = 1, n do
    reply[#reply + 1] = redis.call('HMGET', KEYS[k], epochField, catchupField)
    k = k + 1
  end
end
local a = stores + 4
while k <= #KEYS do
  local mode = ARGV[a]
  if mode == 'A' then
    reply[#reply + 1] = redis.call('HGETALL', KEYS[k])
    a = a + 1
  elseif mode == 'G' then
    reply[#reply + 1] = redis.call('HGET', KEYS[k], ARGV[a + 1])
    a = a + 2
  else
    local count = tonumber(ARGV[a + 1])
    reply[#reply + 1] = redis.call('HMGET', KEYS[k], unpack(ARGV, a + 2, a + 1 + count))
    a = a + 2 + count
  end
  k = k + 1
end
return reply
