// The Lua of the compound scripts: every algorithm's functions wrapped in a factory (one state per part),
// a part loader/saver with the block bookkeeping of FRAME, and the three scripts built on them.

import { FIXED_WINDOW, SLIDING_WINDOW, TOKEN_BUCKET } from './rate-limit-lua.js'

/** ARGV fields of a part's policy: algorithm, limit, window, count rejected, block ms, factor, cap, forget. */
export const SPEC_FIELDS = 8

/** ARGV fields per part of the two-step scripts: the policy, then the cost. */
export const PART_FIELDS = SPEC_FIELDS + 1

/** The algorithm functions of one part, as a factory over its limit and window. */
function factory(name: string, lua: string): string {
  return `
local function ${name}(limit, window)
  local s = {}
${lua}
  return { bytes = STATE_BYTES, load = load_state, fits = fits, add = add, remaining = remaining,
    reset_ms = reset_ms, retry_ms = retry_ms, horizon = horizon, encode = encode }
end`
}

/**
 * Shared head of the compound scripts: the clock, the three algorithm factories, and the per-part
 * open (read state and block state), save (write with the expiry rules of FRAME), accept and reject.
 */
const LIBRARY = `
local time = redis.call('TIME')
local now_us = tonumber(time[1]) * 1000000 + tonumber(time[2])
local now = math.floor(now_us / 1000)
${factory('fixed_window', FIXED_WINDOW)}
${factory('sliding_window', SLIDING_WINDOW)}
${factory('token_bucket', TOKEN_BUCKET)}
local ALGORITHMS = { ['fixed-window'] = fixed_window, ['sliding-window'] = sliding_window,
  ['token-bucket'] = token_bucket }
local out = {}
local size = 0
-- Stored values by key, as this call left them (false: none); read once, by prefetch() or on first use.
local values = {}
local function read(key)
  local value = values[key]
  if value == nil then
    value = redis.call('GET', key)
    values[key] = value
  end
  return value
end
-- One MGET for every key of the call instead of a GET per part and decision.
local function prefetch(keys)
  local got = redis.call('MGET', unpack(keys))
  for i = 1, #keys do values[keys[i]] = got[i] end
end
local function reply(allowed, left, reset, retry, blocked)
  size = size + 1
  out[size] = struct.pack('<ddddd', allowed, left, reset, retry, blocked)
end

-- The algorithm functions of the policy at ARGV[at]; each call gives them a state of their own.
local function make(at) return ALGORITHMS[ARGV[at]](tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])) end

-- A part of the policy at ARGV[at]: its algorithm functions (with a state of their own) and settings.
local function part(at)
  return { f = make(at), count_rejected = ARGV[at + 3] == '1', block_ms = tonumber(ARGV[at + 4]),
    block_factor = tonumber(ARGV[at + 5]), block_max = tonumber(ARGV[at + 6]),
    forget_ms = tonumber(ARGV[at + 7]) }
end

-- Loads the stored state of key into part p (reused across decisions: every field is set again).
local function open(p, key, cost)
  local f = p.f
  p.key = key
  p.cost = cost
  p.blocked_until, p.strikes, p.forget_at, p.old_target = 0, 0, 0, 0
  local stored = read(key)
  if stored then
    local length = #stored
    if length == f.bytes + 24 then
      p.blocked_until, p.strikes, p.forget_at = struct.unpack('<ddd', stored, f.bytes + 1)
      if p.forget_at <= now then
        p.strikes = 0
        p.forget_at = 0
      end
    elseif length ~= f.bytes then
      stored = nil
    end
  end
  p.raw = stored
  f.load(stored)
  if stored then
    p.old_target = f.horizon()
    if p.blocked_until > now then p.old_target = math.max(p.old_target, p.blocked_until) end
    if p.strikes > 0 then p.old_target = math.max(p.old_target, p.forget_at) end
  end
  return p
end

local function save(p)
  local f = p.f
  local target = f.horizon()
  if p.blocked_until > now then target = math.max(target, p.blocked_until) else p.blocked_until = 0 end
  if p.strikes > 0 then target = math.max(target, p.forget_at) end
  if target <= now then
    if p.raw then
      redis.call('DEL', p.key)
      values[p.key] = false
    end
    return
  end
  local value = f.encode()
  if p.strikes > 0 or p.blocked_until > 0 then
    value = value .. struct.pack('<ddd', p.blocked_until, p.strikes, p.forget_at)
  end
  if target > p.old_target then
    redis.call('SET', p.key, value, 'PX', target - now)
  else
    redis.call('SET', p.key, value, 'KEEPTTL')
  end
  values[p.key] = value
end

local function fits(p) return p.blocked_until <= now and p.f.fits(p.cost) end

-- The part takes its cost and is written.
local function accept(p)
  p.f.add(p.cost)
  save(p)
  reply(1, p.f.remaining(), p.f.reset_ms(), 0, 0)
end

-- The part would have let the request pass, but another part refused it: nothing is written.
local function passive(p)
  reply(1, p.f.remaining(), p.f.reset_ms(), 0, 0)
end

-- The part refused the request: its own policy applies, as for a rejected consume of its limiter.
local function reject(p)
  local f = p.f
  if p.blocked_until > now then
    local blocked = p.blocked_until - now
    reply(0, 0, math.max(blocked, f.reset_ms()), blocked, blocked)
    return
  end
  local changed = false
  if p.count_rejected then
    f.add(p.cost)
    changed = true
  end
  if p.block_ms > 0 then
    p.strikes = p.strikes + 1
    local d = p.block_ms
    for _ = 2, p.strikes do
      if d >= p.block_max then break end
      d = d * p.block_factor
    end
    d = math.floor(math.min(d, p.block_max))
    p.blocked_until = now + d
    p.forget_at = p.blocked_until + p.forget_ms
    save(p)
    reply(0, 0, math.max(d, f.reset_ms()), d, d)
    return
  end
  if changed then save(p) end
  local retry = f.retry_ms(p.cost)
  if p.cap and p.cap < retry then retry = p.cap end
  reply(0, f.remaining(), f.reset_ms(), retry, 0)
end
`

/**
 * Compound decisions on keys of one slot, in order (a later one sees what an earlier one took).
 * ARGV: the number of parts P, P policies of SPEC_FIELDS, then P costs per decision (or '*' when all are
 * 1); KEYS: P keys per
 * decision. In each decision every part is checked first; only when all fit does every part take its
 * cost. Replies five doubles per part, as the single-limiter scripts do.
 */
export const COMPOUND_LUA = `${LIBRARY}
local count = tonumber(ARGV[1])
local parts = {}
for j = 1, count do parts[j] = part(2 + (j - 1) * ${SPEC_FIELDS}) end
local costs = 1 + count * ${SPEC_FIELDS}
-- '*' instead of the costs: every part of every decision costs 1 (the usual batch, sent compactly).
local ones = ARGV[costs + 1] == '*'
prefetch(KEYS)
for d = 0, #KEYS / count - 1 do
  local all = true
  for j = 1, count do
    local cost = 1
    if not ones then cost = tonumber(ARGV[costs + d * count + j]) end
    local p = open(parts[j], KEYS[d * count + j], cost)
    p.ok = fits(p)
    if not p.ok then all = false end
  end
  for j = 1, count do
    local p = parts[j]
    if all then accept(p) elseif p.ok then passive(p) else reject(p) end
  end
end
return table.concat(out)
`

/**
 * First step of a compound decision across slots, for the parts of one slot. KEYS: per part its key
 * then its reservations hash; ARGV: reservation id, reservation ms, then PART_FIELDS per part. Live
 * reservations of other decisions count as taken. When every part here fits, each records
 * "<cost> <expires-at>" under the id (the counters are not touched, so a reservation left behind by a
 * dead process simply expires); otherwise nothing is reserved and a refusing part applies its policy.
 */
export const RESERVE_LUA = `${LIBRARY}
local id = ARGV[1]
local hold = tonumber(ARGV[2])
local parts = {}
local all = true
local n = #KEYS / 2
for i = 1, n do
  local at = 3 + (i - 1) * ${PART_FIELDS}
  local p = open(part(at), KEYS[2 * i - 1], tonumber(ARGV[at + ${SPEC_FIELDS}]))
  p.holds = KEYS[2 * i]
  local held = 0
  p.held_until = 0
  local entries = redis.call('HGETALL', p.holds)
  for j = 1, #entries, 2 do
    local units, expires = string.match(entries[j + 1], '^(%d+) (%d+)$')
    if units and tonumber(expires) > now then
      held = held + tonumber(units)
      p.held_until = math.max(p.held_until, tonumber(expires))
    else
      redis.call('HDEL', p.holds, entries[j])
    end
  end
  if held > 0 then p.f.add(held) end
  p.ok = fits(p)
  if not p.ok then all = false end
  parts[i] = p
end
for i = 1, n do
  local p = parts[i]
  if all then
    redis.call('HSET', p.holds, id, p.cost .. ' ' .. (now + hold))
    if redis.call('PTTL', p.holds) < hold then redis.call('PEXPIRE', p.holds, hold) end
    p.f.add(p.cost)
    reply(1, p.f.remaining(), p.f.reset_ms(), 0, 0)
  elseif p.ok then
    passive(p)
  elseif p.blocked_until > now or (not p.count_rejected and p.block_ms == 0) then
    -- Nothing to write: the wait counts the other decisions' reservations as taken, up to their expiry.
    if p.held_until > 0 then p.cap = p.held_until - now end
    reject(p)
  else
    -- The policy applies to the stored state, without the other decisions' reservations.
    p.f.load(p.raw)
    reject(p)
  end
end
return table.concat(out)
`

/**
 * Second step: KEYS as for RESERVE_LUA; ARGV: reservation id, '1' to commit (each part takes its cost
 * and the reservation goes) or '0' to release (the reservation goes), then PART_FIELDS per part.
 * Replies how many reservations it found.
 */
export const SETTLE_LUA = `${LIBRARY}
local id = ARGV[1]
local commit = ARGV[2] == '1'
local found = 0
for i = 1, #KEYS / 2 do
  local holds = KEYS[2 * i]
  found = found + redis.call('HDEL', holds, id)
  if commit then
    local at = 3 + (i - 1) * ${PART_FIELDS}
    local p = open(part(at), KEYS[2 * i - 1], tonumber(ARGV[at + ${SPEC_FIELDS}]))
    p.f.add(p.cost)
    save(p)
  end
end
return found
`
