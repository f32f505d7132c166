-- Moves a user's revocation cut-off forward, never back: of two concurrent revokeUser calls the
-- later instant wins. KEYS[1] cut-off key; ARGV[1] cut-off in ms; ARGV[2] TTL in ms.
-- Returns the cut-off in force afterwards.
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return tostring(current)
