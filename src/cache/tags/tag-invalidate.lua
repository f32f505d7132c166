-- Invalidates a tag in O(1): deletes its version key, records the old version as a pending sweep
-- (same hash slot) for the sweeper, and announces it on the bus, all in one round trip.
-- KEYS[1] version key; KEYS[2] pending-sweeps set; ARGV[1] ttl of the pending set in ms;
-- ARGV[2], ARGV[3] (optional) bus channel and encoded message
local old = redis.call('GET', KEYS[1])
if old then
  redis.call('DEL', KEYS[1])
  redis.call('SADD', KEYS[2], old)
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
if ARGV[2] then
  redis.call('PUBLISH', ARGV[2], ARGV[3])
end
return old
