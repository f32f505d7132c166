-- Removes user index entries whose session is gone, each only if it still holds the value the
-- caller saw: an entry refreshed meanwhile by a save belongs to a live session and stays.
-- KEYS[1] user index; ARGV pairs: stored id, expected value. Returns how many were removed.
local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    removed = removed + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return removed
