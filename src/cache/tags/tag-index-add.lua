-- Adds an entry key to a tag's index set (for reclamation), keeping the set alive at least as long as
-- the entry: a new set gets the ttl, an existing one is only ever extended; ttl 0 means no expiry.
-- KEYS[1] index set; ARGV[1] entry key; ARGV[2] ttl in ms
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl == 0 then
  redis.call('PERSIST', KEYS[1])
elseif existed == 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  local current = redis.call('PTTL', KEYS[1])
  if current >= 0 and current < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
return 1
