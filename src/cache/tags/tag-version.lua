-- The current version of a tag, created with a fresh random value when missing (first use, eviction,
-- invalidation), so a lost version key invalidates its entries instead of resurrecting them.
-- KEYS[1] version key; ARGV[1] candidate version; ARGV[2] ttl in ms (refreshed on every read)
local version = redis.call('GET', KEYS[1])
if not version then
  version = ARGV[1]
  redis.call('SET', KEYS[1], version, 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return version
