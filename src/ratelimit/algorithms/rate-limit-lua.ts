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
-- The algorithm state of the key being decided: one table, refilled per key.
local s = {}
`

/**
 * Fixed window: a counter opened by the first request, reset \`window\` ms later.
 * State: the end of the window (server ms) and the units counted in it.
 */
export const FIXED_WINDOW = `
local STATE_BYTES = 16
local function load_state(stored)
  s.ends = 0
  s.count = 0
  if stored then
    local ends, count = struct.unpack('<dd', stored)
    if ends > now then
      s.ends = ends
      s.count = count
    end
  end
end
local function fits(n) return s.count + n <= limit end
local function add(n)
  if s.ends <= now then s.ends = now + window end
  s.count = math.max(0, s.count + n)
end
local function remaining() return math.max(0, limit - s.count) end
local function reset_ms()
  if s.count > 0 then return s.ends - now end
  return 0
end
-- Nothing frees up before the window ends.
local function retry_ms(n) return reset_ms() end
-- Until when the state matters (server ms); 0 when it is empty.
local function horizon()
  if s.count > 0 then return s.ends end
  return 0
end
local function encode() return struct.pack('<dd', s.ends, s.count) end
`

/**
 * Sliding window, two-counter approximation: the previous window's count weighted by how much of it
 * still overlaps the sliding window, plus the current count.
 * State: the window index and the counts of it and of the one before.
 */
export const SLIDING_WINDOW = `
local STATE_BYTES = 24
local index = math.floor(now / window)
local elapsed = now - index * window
local function load_state(stored)
  s.current = 0
  s.previous = 0
  if stored then
    local stored_index, current, previous = struct.unpack('<ddd', stored)
    if stored_index == index then
      s.current = current
      s.previous = previous
    elseif stored_index == index - 1 then
      s.previous = current
    end
  end
end
local function estimate() return s.previous * (window - elapsed) / window + s.current end
local function fits(n) return estimate() + n <= limit end
local function add(n) s.current = math.max(0, s.current + n) end
local function remaining() return math.max(0, math.floor(limit - estimate())) end
-- When the whole limit is free again if nothing else arrives.
local function reset_ms()
  if s.current > 0 then return 2 * window - elapsed end
  if s.previous > 0 then return window - elapsed end
  return 0
end
-- When n units fit, assuming nothing else arrives meanwhile.
local function retry_ms(n)
  local room = limit - n
  if room < 0 then return reset_ms() end
  if s.current <= room then
    if s.previous <= 0 then return 0 end
    return math.max(0, math.ceil(window - window * (room - s.current) / s.previous - elapsed))
  end
  return window - elapsed + math.ceil(window - window * room / s.current)
end
-- Until when the state matters (server ms); 0 when it is empty.
local function horizon()
  if s.current > 0 then return (index + 2) * window end
  if s.previous > 0 then return (index + 1) * window end
  return 0
end
local function encode() return struct.pack('<ddd', index, s.current, s.previous) end
`

/**
 * Token bucket as GCRA: one "theoretical arrival time" per key instead of a token count and a timestamp.
 * \`limit\` tokens of burst, refilled at \`limit\` per \`window\`. State: the TAT in server microseconds.
 */
export const TOKEN_BUCKET = `
local STATE_BYTES = 8
local interval = math.ceil(window * 1000 / limit)
local tolerance = interval * limit
local function load_state(stored)
  s.tat = now_us
  if stored then s.tat = math.max(struct.unpack('<d', stored), now_us) end
end
local function fits(n) return s.tat + n * interval - now_us <= tolerance end
local function add(n) s.tat = math.max(now_us, s.tat + n * interval) end
local function remaining() return math.max(0, math.floor((tolerance - (s.tat - now_us)) / interval)) end
local function reset_ms() return math.ceil((s.tat - now_us) / 1000) end
local function retry_ms(n)
  if n > limit then return reset_ms() end
  return math.max(0, math.ceil((s.tat + n * interval - tolerance - now_us) / 1000))
end
-- Until when the state matters (server ms); 0 when it is empty. Rounded up to whole windows so the
-- key's expiry moves once per window, not on every request.
local function horizon()
  if s.tat > now_us then return (math.floor(s.tat / 1000 / window) + 2) * window end
  return 0
end
local function encode() return struct.pack('<d', s.tat) end
`

/**
 * Body of every script: per key, block and strike bookkeeping around the algorithm's functions, each op
 * applied in order. Replies one binary string: per op, five little-endian doubles: allowed (0/1), remaining,
 * ms until the whole limit is back, ms until a retry can pass, ms blocked (the client reads one string far
 * faster than an array of integer replies). Ops: c consume, p peek, f force-add (negative gives back),
 * b block for n ms, r reset.
 *
 * A key holds one string of little-endian doubles (struct.pack): the algorithm's state, then, only while
 * it matters, the block state (blocked-until, strikes, forget-at). Binary rather than text, because
 * parsing and printing numbers is most of what a text layout costs the server. A value of any other
 * length (foreign or corrupt), or of the right length with numbers no write of the script gives (NaN,
 * negative, fractional, 2^53 or more), is treated as an empty state and replaced.
 */
export const FRAME = `
local out = {}
local size = 0
-- The block state of the key being decided; apply() runs one op on it.
local blocked_until, strikes, forget_at, changed

local function apply(op, n)
  local allowed, left, reset, retry, blocked = 0, 0, 0, 0, 0
  if op == 'c' and blocked_until <= now and fits(n) then
    -- The common case first: a consume that fits.
    add(n)
    changed = true
    allowed = 1
    left = remaining()
    reset = reset_ms()
  elseif op == 'r' then
    load_state(nil)
    blocked_until = 0
    strikes = 0
    forget_at = 0
    changed = true
    allowed = 1
    left = limit
  elseif op == 'b' then
    blocked_until = now + n
    changed = true
    reset = math.max(n, reset_ms())
    retry = n
    blocked = n
  elseif blocked_until > now then
    if op == 'f' then
      add(n)
      changed = true
    end
    blocked = blocked_until - now
    reset = math.max(blocked, reset_ms())
    retry = blocked
  elseif op == 'c' then
    -- A consume that does not fit.
    if count_rejected then
      add(n)
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
      reset = math.max(d, reset_ms())
      retry = d
      blocked = d
    else
      left = remaining()
      reset = reset_ms()
      retry = retry_ms(n)
    end
  else
    if op == 'f' then
      add(n)
      changed = true
    end
    if fits(1) then allowed = 1 else retry = retry_ms(1) end
    left = remaining()
    reset = reset_ms()
  end
  size = size + 1
  out[size] = struct.pack('<ddddd', allowed, left, reset, retry, blocked)
end

-- Foreign bytes of the right length would unpack as NaN, negative or absurd numbers. Every number this
-- script stores is a whole, non-negative double below 2^53; a value holding any other is an empty state.
local function sane(value)
  for at = 1, #value, 8 do
    local d = struct.unpack('<d', value, at)
    if d ~= d or d < 0 or d >= 9007199254740992 or d ~= math.floor(d) then return false end
  end
  return true
end

-- '*' instead of op lists: every key takes one consume of cost 1 (the common batch, sent compactly).
local only_consume = ARGV[8] == '*'
for i = 1, #KEYS do
  local key = KEYS[i]
  local stored = redis.call('GET', key)
  blocked_until, strikes, forget_at = 0, 0, 0
  if stored then
    local length = #stored
    if (length == STATE_BYTES or length == STATE_BYTES + 24) and not sane(stored) then
      stored = nil
    elseif length == STATE_BYTES + 24 then
      blocked_until, strikes, forget_at = struct.unpack('<ddd', stored, STATE_BYTES + 1)
      if forget_at <= now then
        strikes = 0
        forget_at = 0
      end
    elseif length ~= STATE_BYTES then
      stored = nil
    end
  end
  load_state(stored)
  -- The key's expiry is at least this (the target of its last write), so a write that needs no
  -- later expiry keeps the TTL instead of setting one.
  local old_target = 0
  if stored then
    old_target = horizon()
    if blocked_until > now then old_target = math.max(old_target, blocked_until) end
    if strikes > 0 then old_target = math.max(old_target, forget_at) end
    -- A horizon past two windows is rare (penalties, long blocks). There the key's expiry, which every
    -- write sets at or past the horizon, tells a real state from foreign bytes that only look like one.
    if old_target > now + 2 * window then
      local pttl = redis.call('PTTL', key)
      if pttl < 0 or now + pttl + 1000 < old_target then
        stored = nil
        blocked_until, strikes, forget_at = 0, 0, 0
        load_state(nil)
        old_target = 0
      end
    end
  end
  changed = false
  if only_consume then
    apply('c', 1)
  else
    for op, arg in string.gmatch(ARGV[7 + i], '(%a)(%-?%d+)') do apply(op, tonumber(arg)) end
  end
  if changed then
    local target = horizon()
    if blocked_until > now then target = math.max(target, blocked_until) else blocked_until = 0 end
    if strikes > 0 then target = math.max(target, forget_at) end
    if target <= now then
      if stored then redis.call('DEL', key) end
    else
      local value = encode()
      if strikes > 0 or blocked_until > 0 then
        value = value .. struct.pack('<ddd', blocked_until, strikes, forget_at)
      end
      if target > old_target then
        redis.call('SET', key, value, 'PX', target - now)
      else
        redis.call('SET', key, value, 'KEEPTTL')
      end
    end
  end
end
return table.concat(out)
`
