// Builds the one script per algorithm: PRELUDE + the algorithm's Lua + FRAME, and the JS twin of
// the same frame for the embedded store. A call decides any number of ops on any number of keys.

import type { MemoryScriptContext, ScriptDefinition } from '../../store/store.js'
import type { Algorithm } from './algorithm.js'
import { fieldNumber } from './algorithm.js'
import { FRAME, PRELUDE } from './rate-limit-lua.js'

/** Numbers the script replies per op: allowed, remaining, resetMs, retryAfterMs, blockedMs. */
export const REPLY_WIDTH = 5

/** Bytes of one op's reply: REPLY_WIDTH little-endian doubles. */
const REPLY_BYTES = REPLY_WIDTH * 8

/** The five numbers the script replies for one op. */
export type OpReply = readonly [
  allowed: number,
  remaining: number,
  resetMs: number,
  retryMs: number,
  blockedMs: number,
]

/**
 * The op replies in a packed script reply, in call order.
 * @throws TypeError when it is not a whole packed reply
 */
export function opReplies(reply: unknown): OpReply[] {
  if (!Buffer.isBuffer(reply) || reply.length === 0 || reply.length % REPLY_BYTES !== 0) {
    throw new TypeError('the rate-limit script replied with something other than packed op replies')
  }
  const replies: OpReply[] = []
  for (let at = 0; at < reply.length; at += REPLY_BYTES) {
    replies.push([
      reply.readDoubleLE(at),
      reply.readDoubleLE(at + 8),
      reply.readDoubleLE(at + 16),
      reply.readDoubleLE(at + 24),
      reply.readDoubleLE(at + 32),
    ])
  }
  return replies
}

/** Packs op replies (REPLY_WIDTH numbers each, flat) the way the script does. */
export function packOpReplies(values: readonly number[]): Buffer {
  const reply = Buffer.allocUnsafe(values.length * 8)
  for (let i = 0; i < values.length; i++) reply.writeDoubleLE(values[i]!, i * 8)
  return reply
}

/** Arguments before the op lists, in PRELUDE order. */
export const SETTINGS_COUNT = 7

/**
 * The arguments of one call: the settings, then one op list per key, or just `'*'` when every key takes
 * a single consume of cost 1 (the usual batch; saves the server parsing a list per key).
 */
export function scriptArgs(
  settings: readonly (string | number)[],
  ops: readonly string[],
): (string | number)[] {
  return ops.every((op) => op === 'c1') ? [...settings, '*'] : [...settings, ...ops]
}

const OP = /([a-z])(-?\d+)/g
/** Lua's `^(%d+) (%d+) (%d+)$` on the block part of a stored value. */
const BLOCK = /^(\d+) (\d+) (\d+)$/

/** The script of an algorithm, registered under `ratelimit.<algorithm>`. */
export function rateLimitScript(algorithm: Algorithm): ScriptDefinition {
  return {
    name: `ratelimit.${algorithm.name}`,
    lua: `${PRELUDE}\n${algorithm.lua}\n${FRAME}`,
    memory: (context, keys, args) => packOpReplies(runTwin(algorithm, context, keys, args)),
    binaryReply: true,
  }
}

function runTwin(
  algorithm: Algorithm,
  context: MemoryScriptContext,
  keys: readonly string[],
  args: readonly string[],
): number[] {
  const limit = Number(args[0])
  const window = Number(args[1])
  const countRejected = args[2] === '1'
  const blockMs = Number(args[3])
  const blockFactor = Number(args[4])
  const blockMax = Number(args[5])
  const forgetMs = Number(args[6])
  const now = context.timeMs()
  const f = algorithm.bind({ limit, window, now, nowUs: now * 1000 })
  const out: number[] = []

  // The state of the key being decided; apply() runs one op on it.
  let s: unknown
  let blockedUntil = 0
  let strikes = 0
  let forgetAt = 0
  let changed = false

  const apply = (op: string, n: number): void => {
    let allowed = 0
    let left = 0
    let reset = 0
    let retry = 0
    let blocked = 0
    if (op === 'r') {
      s = f.load(null)
      blockedUntil = 0
      strikes = 0
      forgetAt = 0
      changed = true
      allowed = 1
      left = limit
    } else if (op === 'b') {
      blockedUntil = now + n
      changed = true
      reset = Math.max(n, f.resetMs(s))
      retry = n
      blocked = n
    } else if (blockedUntil > now) {
      if (op === 'f') {
        f.add(s, n)
        changed = true
      }
      blocked = blockedUntil - now
      reset = Math.max(blocked, f.resetMs(s))
      retry = blocked
    } else if (op === 'c') {
      if (f.fits(s, n)) {
        f.add(s, n)
        changed = true
        allowed = 1
        left = f.remaining(s)
        reset = f.resetMs(s)
      } else {
        if (countRejected) {
          f.add(s, n)
          changed = true
        }
        if (blockMs > 0) {
          strikes += 1
          let d = blockMs
          for (let strike = 2; strike <= strikes; strike++) {
            if (d >= blockMax) break
            d *= blockFactor
          }
          d = Math.floor(Math.min(d, blockMax))
          blockedUntil = now + d
          forgetAt = blockedUntil + forgetMs
          changed = true
          reset = Math.max(d, f.resetMs(s))
          retry = d
          blocked = d
        } else {
          left = f.remaining(s)
          reset = f.resetMs(s)
          retry = f.retryMs(s, n)
        }
      }
    } else {
      if (op === 'f') {
        f.add(s, n)
        changed = true
      }
      if (f.fits(s, 1)) allowed = 1
      else retry = f.retryMs(s, 1)
      left = f.remaining(s)
      reset = f.resetMs(s)
    }
    out.push(allowed, left, reset, retry, blocked)
  }

  const onlyConsume = args[SETTINGS_COUNT] === '*'
  keys.forEach((key, i) => {
    const stored = context.get(key)
    let body = stored
    let block: RegExpExecArray | null = null
    const bar = stored === null ? -1 : stored.indexOf('|')
    if (stored !== null && bar !== -1) {
      body = stored.slice(0, bar)
      block = BLOCK.exec(stored.slice(bar + 1))
    }
    s = f.load(body)
    blockedUntil = fieldNumber(block?.[1]) ?? 0
    strikes = fieldNumber(block?.[2]) ?? 0
    forgetAt = fieldNumber(block?.[3]) ?? 0
    if (forgetAt <= now) {
      strikes = 0
      forgetAt = 0
    }
    let oldTarget = 0
    if (stored !== null) {
      oldTarget = f.horizon(s)
      if (blockedUntil > now) oldTarget = Math.max(oldTarget, blockedUntil)
      if (strikes > 0) oldTarget = Math.max(oldTarget, forgetAt)
      // As the Lua: a horizon the key's own expiry does not cover is foreign data.
      if (oldTarget > now + 2 * window) {
        const ttl = context.pttl(key)
        if (ttl < 0 || now + ttl + 1000 < oldTarget) {
          s = f.load(null)
          blockedUntil = 0
          strikes = 0
          forgetAt = 0
          oldTarget = 0
        }
      }
    }
    changed = false
    if (onlyConsume) apply('c', 1)
    else for (const match of (args[SETTINGS_COUNT + i] ?? '').matchAll(OP)) apply(match[1]!, Number(match[2]))
    if (!changed) return
    let target = f.horizon(s)
    if (blockedUntil > now) target = Math.max(target, blockedUntil)
    else blockedUntil = 0
    if (strikes > 0) target = Math.max(target, forgetAt)
    if (target <= now) {
      if (stored !== null) context.del(key)
      return
    }
    let value = f.encode(s)
    if (strikes > 0 || blockedUntil > 0) value += `|${blockedUntil} ${strikes} ${forgetAt}`
    if (target > oldTarget) {
      context.set(key, value, { ttlMs: target - now })
    } else {
      // SET ... KEEPTTL
      const ttl = context.pttl(key)
      context.set(key, value)
      if (ttl > 0) context.pexpire(key, ttl)
    }
  })
  return out
}
