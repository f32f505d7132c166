// The Lua of the rate-limit scripts, as one clearly named string module: each script is PRELUDE, one
// algorithm's functions and FRAME, joined. Text here rather than .lua files, so tools run by tsx load it.

/**
 * Head of every script: the limiter's settings and the server clock, read once per call.
 * ARGV: limit, window ms, count rejected (0/1), block ms (0 = off), block multiplier, block cap ms,
 * strike memory ms, then one op list per key (e.g. 'c1' or 'c1c1p0'), in KEYS order.
 */
export const PRELUDE = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local count_rejected = ARGV[3] == '1'
local block_ms = tonumber(ARGV[4])
local block_factor = tonumber(ARGV[5])
local block_max = tonumber(ARGV[6])
local forget_ms = tonumber(ARGV[7])
-- One clock for every instance: the server's, in microseconds and milliseconds.
local time = redis.call('TIME')
local now_us = tonumber(time[1]) * 1000000 + tonumber(time[2])
local now = math.floor(now_us / 1000)
`

/**
 * Fixed window: a counter opened by the first request, reset \`window\` ms later.
 * Stored as 'end count': the end of the window (server ms) and the units counted in it.
 */
export const FIXED_WINDOW = `
local function load_state(body)
  local a, b
  if body then a, b = string.match(body, '^(%d+) (%d+)$') end
  local ends = tonumber(a) or 0
  if ends <= now then return { ends = 0, count = 0 } end
  -- raw: the stored text of ends, reused while it holds (number to text is costly in Lua).
  return { ends = ends, count = tonumber(b) or 0, raw = a }
end
local function fits(s, n) return s.count + n <= limit end
local function add(s, n)
  if s.ends <= now then
    s.ends = now + window
    s.raw = nil
  end
  s.count = math.max(0, s.count + n)
end
local function remaining(s) return math.max(0, limit - s.count) end
local function reset_ms(s)
  if s.count > 0 then return s.ends - now end
  return 0
end
-- Nothing frees up before the window ends.
local function retry_ms(s, n) return reset_ms(s) end
-- Until when the state matters (server ms); 0 when it is empty.
local function horizon(s)
  if s.count > 0 then return s.ends end
  return 0
end
local function encode(s) return (s.raw or s.ends) .. ' ' .. s.count end
`

/**
 * Sliding window, two-counter approximation: the previous window's count weighted by how much of it
 * still overlaps the sliding window, plus the current count.
 * Stored as 'index current previous': the window index and the counts of it and of the one before.
 */
export const SLIDING_WINDOW = `
local function load_state(body)
  local a, b, c
  if body then a, b, c = string.match(body, '^(%d+) (%d+) (%d+)$') end
  local index = math.floor(now / window)
  local stored = tonumber(a)
  local s = { index = index, current = 0, previous = 0, elapsed = now - index * window }
  -- raw_*: stored texts reused while they hold (number to text is costly in Lua).
  if stored == index then
    s.current = tonumber(b) or 0
    s.previous = tonumber(c) or 0
    s.raw_index = a
    s.raw_previous = c
  elseif stored == index - 1 then
    s.previous = tonumber(b) or 0
    s.raw_previous = b
  end
  return s
end
local function estimate(s) return s.previous * (window - s.elapsed) / window + s.current end
local function fits(s, n) return estimate(s) + n <= limit end
local function add(s, n) s.current = math.max(0, s.current + n) end
local function remaining(s) return math.max(0, math.floor(limit - estimate(s))) end
-- When the whole limit is free again if nothing else arrives.
local function reset_ms(s)
  if s.current > 0 then return 2 * window - s.elapsed end
  if s.previous > 0 then return window - s.elapsed end
  return 0
end
-- When n units fit, assuming nothing else arrives meanwhile.
local function retry_ms(s, n)
  local room = limit - n
  if room < 0 then return reset_ms(s) end
  if s.current <= room then
    if s.previous <= 0 then return 0 end
    return math.max(0, math.ceil(window - window * (room - s.current) / s.previous - s.elapsed))
  end
  return window - s.elapsed + math.ceil(window - window * room / s.current)
end
-- Until when the state matters (server ms); 0 when it is empty.
local function horizon(s)
  if s.current > 0 then return (s.index + 2) * window end
  if s.previous > 0 then return (s.index + 1) * window end
  return 0
end
local function encode(s) return (s.raw_index or s.index) .. ' ' .. s.current .. ' ' .. (s.raw_previous or s.previous) end
`

/**
 * Token bucket as GCRA: one "theoretical arrival time" per key instead of a token count and a timestamp.
 * \`limit\` tokens of burst, refilled at \`limit\` per \`window\`. Stored as the TAT in server microseconds.
 */
export const TOKEN_BUCKET = `
local interval = math.ceil(window * 1000 / limit)
local tolerance = interval * limit
local function load_state(body)
  local a
  if body then a = string.match(body, '^(%d+)$') end
  return { tat = math.max(tonumber(a) or 0, now_us) }
end
local function fits(s, n) return s.tat + n * interval - now_us <= tolerance end
local function add(s, n) s.tat = math.max(now_us, s.tat + n * interval) end
local function remaining(s) return math.max(0, math.floor((tolerance - (s.tat - now_us)) / interval)) end
local function reset_ms(s) return math.ceil((s.tat - now_us) / 1000) end
local function retry_ms(s, n)
  if n > limit then return reset_ms(s) end
  return math.max(0, math.ceil((s.tat + n * interval - tolerance - now_us) / 1000))
end
-- Until when the state matters (server ms); 0 when it is empty. Rounded up to whole windows so the
-- key's expiry moves once per window, not on every request.
local function horizon(s)
  if s.tat > now_us then return (math.floor(s.tat / 1000 / window) + 2) * window end
  return 0
end
-- %.0f: 16 digits, more than the 14 a plain concatenation keeps.
local function encode(s) return string.format('%.0f', s.tat) end
`

/**
 * Body of every script: per key, block and strike bookkeeping around the algorithm's functions, each op
 * applied in order. Replies five integers per op: allowed (0/1), remaining, ms until the whole limit is
 * back, ms until a retry can pass, ms blocked. Ops: c consume, p peek, f force-add (negative gives back),
 * b block for n ms, r reset.
 */
export const FRAME = `
local out = {}
local size = 0
-- The state of the key being decided; apply() runs one op on it.
local s, blocked_until, strikes, forget_at, changed

local function apply(op, n)
  local allowed, left, reset, retry, blocked = 0, 0, 0, 0, 0
  if op == 'r' then
    s = load_state(nil)
    blocked_until = 0
    strikes = 0
    forget_at = 0
    changed = true
    allowed = 1
    left = limit
  elseif op == 'b' then
    blocked_until = now + n
    changed = true
    reset = math.max(n, reset_ms(s))
    retry = n
    blocked = n
  elseif blocked_until > now then
    if op == 'f' then
      add(s, n)
      changed = true
    end
    blocked = blocked_until - now
    reset = math.max(blocked, reset_ms(s))
    retry = blocked
  elseif op == 'c' then
    if fits(s, n) then
      add(s, n)
      changed = true
      allowed = 1
      left = remaining(s)
      reset = reset_ms(s)
    else
      if count_rejected then
        add(s, n)
        changed = true
      end
      if block_ms > 0 then
        -- Progressive: each remembered strike multiplies the block, up to the cap.
        strikes = strikes + 1
        local d = block_ms
        for _ = 2, strikes do
          if d >= block_max then break end
          d = d * block_factor
        end
        d = math.floor(math.min(d, block_max))
        blocked_until = now + d
        forget_at = blocked_until + forget_ms
        changed = true
        reset = math.max(d, reset_ms(s))
        retry = d
        blocked = d
      else
        left = remaining(s)
        reset = reset_ms(s)
        retry = retry_ms(s, n)
      end
    end
  else
    if op == 'f' then
      add(s, n)
      changed = true
    end
    if fits(s, 1) then allowed = 1 else retry = retry_ms(s, 1) end
    left = remaining(s)
    reset = reset_ms(s)
  end
  out[size + 1] = allowed
  out[size + 2] = left
  out[size + 3] = reset
  out[size + 4] = retry
  out[size + 5] = blocked
  size = size + 5
end

-- '*' instead of op lists: every key takes one consume of cost 1 (the common batch, sent compactly).
local only_consume = ARGV[8] == '*'
for i = 1, #KEYS do
  local key = KEYS[i]
  -- One string per key, 'state' or 'state|blocked-until strikes forget-at': a plain GET/SET is far
  -- cheaper than a hash, and the block part is there only while it matters.
  local stored = redis.call('GET', key)
  local body, u, k, f = stored, nil, nil, nil
  if stored then
    local bar = string.find(stored, '|', 1, true)
    if bar then
      body = string.sub(stored, 1, bar - 1)
      u, k, f = string.match(stored, '^(%d+) (%d+) (%d+)$', bar + 1)
    end
  end
  s = load_state(body)
  blocked_until = tonumber(u) or 0
  strikes = tonumber(k) or 0
  forget_at = tonumber(f) or 0
  if forget_at <= now then
    strikes = 0
    forget_at = 0
  end
  -- The key's expiry is at least this (the target of its last write), so a write that needs no
  -- later expiry keeps the TTL instead of setting one (cheaper: no number to format).
  local old_target = 0
  if stored then
    old_target = horizon(s)
    if blocked_until > now then old_target = math.max(old_target, blocked_until) end
    if strikes > 0 then old_target = math.max(old_target, forget_at) end
  end
  changed = false
  if only_consume then
    apply('c', 1)
  else
    for op, arg in string.gmatch(ARGV[7 + i], '(%a)(%-?%d+)') do apply(op, tonumber(arg)) end
  end
  if changed then
    local target = horizon(s)
    if blocked_until > now then target = math.max(target, blocked_until) else blocked_until = 0 end
    if strikes > 0 then target = math.max(target, forget_at) end
    if target <= now then
      if stored then redis.call('DEL', key) end
    else
      local value = encode(s)
      if strikes > 0 or blocked_until > 0 then
        value = value .. '|' .. blocked_until .. ' ' .. strikes .. ' ' .. forget_at
      end
      if target > old_target then
        redis.call('SET', key, value, 'PX', target - now)
      else
        redis.call('SET', key, value, 'KEEPTTL')
      end
    end
  end
end
return out
`
