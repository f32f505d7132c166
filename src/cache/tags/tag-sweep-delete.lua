-- Deletes the given entries if their envelope header still carries the invalidated tag version, so an
-- entry rewritten since (under a new version) is left alone. All KEYS share one hash slot on Cluster.
-- KEYS entry keys; ARGV[1] the ",tag=version," needle
local removed = 0
for _, key in ipairs(KEYS) do
  local value = redis.pcall('GET', key)
  if type(value) == 'string' then
    local stop = 0
    for _ = 1, 6 do
      stop = string.find(value, '|', stop + 1, true)
      if not stop then break end
    end
    if stop and string.find(string.sub(value, 1, stop), ARGV[1], 1, true) then
      redis.call('UNLINK', key)
      removed = removed + 1
    end
  end
end
return removed
