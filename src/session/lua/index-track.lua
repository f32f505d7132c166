-- Records that a session belongs to a user: field = stored id, value = '<expiresAt>:<createdAt>' (ms,
-- expiresAt 0 = no expiry). The index key lives as long as its longest entry plus a grace period.
-- KEYS[1] user index; ARGV[1] stored id; ARGV[2] expiresAt; ARGV[3] now; ARGV[4] grace in ms.
-- Returns the entries past their expiry as a flat, field-sorted list { field, value, ... }: their
-- sessions live in other hash slots, so the caller checks them and prunes with index-prune.lua.
local now = tonumber(ARGV[3])
local created = ARGV[3]
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  created = string.match(old, ':(%d+)$') or ARGV[3]
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. created)
local entries = redis.call('HGETALL', KEYS[1])
local overdue = {}
local latest = 0
local forever = false
for i = 1, #entries, 2 do
  local expires = tonumber(string.match(entries[i + 1], '^(%d+)')) or 0
  if expires == 0 then
    forever = true
  else
    if expires > latest then latest = expires end
    if expires < now then overdue[#overdue + 1] = entries[i] end
  end
end
if forever then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], math.max(latest - now + tonumber(ARGV[4]), 1))
end
table.sort(overdue)
local reply = {}
for _, field in ipairs(overdue) do
  reply[#reply + 1] = field
  reply[#reply + 1] = redis.call('HGET', KEYS[1], field)
end
return reply
