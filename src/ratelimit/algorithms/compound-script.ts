// The compound scripts (one decision over several limiters: all parts take their cost or none does)
// and their JS twins for the embedded store, written with the same steps as compound-lua.ts.

import type { MemoryScriptContext, ScriptDefinition } from '../../store/store.js'
import type { Algorithm, AlgorithmFunctions, RateLimitAlgorithm } from './algorithm.js'
import { fieldNumber } from './algorithm.js'
import { COMPOUND_LUA, PART_FIELDS, RESERVE_LUA, SETTLE_LUA, SPEC_FIELDS } from './compound-lua.js'
import { fixedWindow } from './fixed-window.js'
import { packOpReplies } from './rate-limit-script.js'
import { slidingWindow } from './sliding-window.js'
import { tokenBucket } from './token-bucket.js'

export { PART_FIELDS, SPEC_FIELDS }

const ALGORITHMS: Record<RateLimitAlgorithm, Algorithm> = {
  'fixed-window': fixedWindow as Algorithm,
  'sliding-window': slidingWindow as Algorithm,
  'token-bucket': tokenBucket as Algorithm,
}

/** The block part of a stored twin value, after `|`. */
const BLOCK = /^(\d+) (\d+) (\d+)$/
const HOLD = /^(\d+) (\d+)$/

/** One part being decided, as `open` in compound-lua.ts makes it. */
interface Part {
  key: string
  f: AlgorithmFunctions<unknown>
  s: unknown
  countRejected: boolean
  blockMs: number
  blockFactor: number
  blockMax: number
  forgetMs: number
  cost: number
  blockedUntil: number
  strikes: number
  forgetAt: number
  oldTarget: number
  /** The stored algorithm state (`null` when none), for a reload. */
  body: string | null
  exists: boolean
  ok: boolean
  /** Reserve step: most ms until the other decisions' reservations expire. */
  cap?: number
}

/** What the twins share within one run: the store view, the frozen clock and the replies so far. */
class TwinRun {
  readonly out: number[] = []
  readonly now: number

  constructor(readonly context: MemoryScriptContext) {
    this.now = context.timeMs()
  }

  /** The algorithm functions of the policy at `args[at]`. */
  make(args: readonly string[], at: number): AlgorithmFunctions<unknown> {
    const algorithm = ALGORITHMS[args[at] as RateLimitAlgorithm]
    if (!algorithm) throw new TypeError(`unknown rate-limit algorithm '${String(args[at])}'`)
    const now = this.now
    return algorithm.bind({
      limit: Number(args[at + 1]),
      window: Number(args[at + 2]),
      now,
      nowUs: now * 1000,
    })
  }

  open(key: string, args: readonly string[], at: number, cost: number, f = this.make(args, at)): Part {
    const now = this.now
    const stored = this.context.get(key)
    let body = stored
    let block: RegExpExecArray | null = null
    const bar = stored === null ? -1 : stored.indexOf('|')
    if (stored !== null && bar !== -1) {
      body = stored.slice(0, bar)
      block = BLOCK.exec(stored.slice(bar + 1))
    }
    const p: Part = {
      key,
      f,
      s: f.load(body),
      countRejected: args[at + 3] === '1',
      blockMs: Number(args[at + 4]),
      blockFactor: Number(args[at + 5]),
      blockMax: Number(args[at + 6]),
      forgetMs: Number(args[at + 7]),
      cost,
      blockedUntil: fieldNumber(block?.[1]) ?? 0,
      strikes: fieldNumber(block?.[2]) ?? 0,
      forgetAt: fieldNumber(block?.[3]) ?? 0,
      oldTarget: 0,
      body,
      exists: stored !== null,
      ok: false,
    }
    if (p.forgetAt <= now) {
      p.strikes = 0
      p.forgetAt = 0
    }
    if (p.exists) {
      p.oldTarget = f.horizon(p.s)
      if (p.blockedUntil > now) p.oldTarget = Math.max(p.oldTarget, p.blockedUntil)
      if (p.strikes > 0) p.oldTarget = Math.max(p.oldTarget, p.forgetAt)
    }
    return p
  }

  save(p: Part): void {
    const { context, now } = this
    let target = p.f.horizon(p.s)
    if (p.blockedUntil > now) target = Math.max(target, p.blockedUntil)
    else p.blockedUntil = 0
    if (p.strikes > 0) target = Math.max(target, p.forgetAt)
    if (target <= now) {
      if (p.exists) context.del(p.key)
      return
    }
    let value = p.f.encode(p.s)
    if (p.strikes > 0 || p.blockedUntil > 0) value += `|${p.blockedUntil} ${p.strikes} ${p.forgetAt}`
    if (target > p.oldTarget) {
      context.set(p.key, value, { ttlMs: target - now })
    } else {
      const ttl = context.pttl(p.key)
      context.set(p.key, value)
      if (ttl > 0) context.pexpire(p.key, ttl)
    }
  }

  fits(p: Part): boolean {
    return p.blockedUntil <= this.now && p.f.fits(p.s, p.cost)
  }

  accept(p: Part): void {
    p.f.add(p.s, p.cost)
    this.save(p)
    this.out.push(1, p.f.remaining(p.s), p.f.resetMs(p.s), 0, 0)
  }

  passive(p: Part): void {
    this.out.push(1, p.f.remaining(p.s), p.f.resetMs(p.s), 0, 0)
  }

  reject(p: Part): void {
    const { f, s } = p
    const now = this.now
    if (p.blockedUntil > now) {
      const blocked = p.blockedUntil - now
      this.out.push(0, 0, Math.max(blocked, f.resetMs(s)), blocked, blocked)
      return
    }
    let changed = false
    if (p.countRejected) {
      f.add(s, p.cost)
      changed = true
    }
    if (p.blockMs > 0) {
      p.strikes += 1
      let d = p.blockMs
      for (let strike = 2; strike <= p.strikes; strike++) {
        if (d >= p.blockMax) break
        d *= p.blockFactor
      }
      d = Math.floor(Math.min(d, p.blockMax))
      p.blockedUntil = now + d
      p.forgetAt = p.blockedUntil + p.forgetMs
      this.save(p)
      this.out.push(0, 0, Math.max(d, f.resetMs(s)), d, d)
      return
    }
    if (changed) this.save(p)
    let retry = f.retryMs(s, p.cost)
    if (p.cap !== undefined && p.cap < retry) retry = p.cap
    this.out.push(0, f.remaining(s), f.resetMs(s), retry, 0)
  }
}

function compoundTwin(context: MemoryScriptContext, keys: readonly string[], args: readonly string[]) {
  const run = new TwinRun(context)
  const count = Number(args[0])
  const functions = Array.from({ length: count }, (_, j) => run.make(args, 1 + j * SPEC_FIELDS))
  const costs = count * SPEC_FIELDS + 1
  const ones = args[costs] === '*'
  for (let d = 0; d < keys.length / count; d++) {
    const parts = functions.map((f, j) =>
      run.open(
        keys[d * count + j]!,
        args,
        1 + j * SPEC_FIELDS,
        ones ? 1 : Number(args[costs + d * count + j]),
        f,
      ),
    )
    for (const p of parts) p.ok = run.fits(p)
    const all = parts.every((p) => p.ok)
    for (const p of parts) {
      if (all) run.accept(p)
      else if (p.ok) run.passive(p)
      else run.reject(p)
    }
  }
  return packOpReplies(run.out)
}

function reserveTwin(context: MemoryScriptContext, keys: readonly string[], args: readonly string[]) {
  const run = new TwinRun(context)
  const id = args[0]!
  const hold = Number(args[1])
  const now = run.now
  const parts: { p: Part; holds: string }[] = []
  for (let i = 0; i < keys.length / 2; i++) {
    const at = 2 + i * PART_FIELDS
    const p = run.open(keys[2 * i]!, args, at, Number(args[at + SPEC_FIELDS]))
    const holds = keys[2 * i + 1]!
    let held = 0
    let heldUntil = 0
    for (const [field, value] of Object.entries(context.hgetall(holds))) {
      const match = HOLD.exec(value)
      if (match && Number(match[2]) > now) {
        held += Number(match[1])
        heldUntil = Math.max(heldUntil, Number(match[2]))
      } else {
        context.hdel(holds, [field])
      }
    }
    if (heldUntil > 0) p.cap = heldUntil - now
    if (held > 0) p.f.add(p.s, held)
    p.ok = run.fits(p)
    parts.push({ p, holds })
  }
  const all = parts.every(({ p }) => p.ok)
  for (const { p, holds } of parts) {
    if (all) {
      context.hset(holds, { [id]: `${p.cost} ${now + hold}` })
      if (context.pttl(holds) < hold) context.pexpire(holds, hold)
      p.f.add(p.s, p.cost)
      run.out.push(1, p.f.remaining(p.s), p.f.resetMs(p.s), 0, 0)
    } else if (p.ok) {
      run.passive(p)
    } else if (p.blockedUntil > now || (!p.countRejected && p.blockMs === 0)) {
      run.reject(p)
    } else {
      p.s = p.f.load(p.body)
      run.reject(p)
    }
  }
  return packOpReplies(run.out)
}

function settleTwin(context: MemoryScriptContext, keys: readonly string[], args: readonly string[]) {
  const run = new TwinRun(context)
  const id = args[0]!
  const commit = args[1] === '1'
  let found = 0
  for (let i = 0; i < keys.length / 2; i++) {
    found += context.hdel(keys[2 * i + 1]!, [id])
    if (commit) {
      const at = 2 + i * PART_FIELDS
      const p = run.open(keys[2 * i]!, args, at, Number(args[at + SPEC_FIELDS]))
      p.f.add(p.s, p.cost)
      run.save(p)
    }
  }
  return found
}

/** One compound decision on keys of one slot (memory, single node, a shared hash tag on Cluster). */
export const compoundScript: ScriptDefinition = {
  name: 'ratelimit.compound',
  lua: COMPOUND_LUA,
  memory: compoundTwin,
  binaryReply: true,
}

/** Reserve step of a compound decision across Cluster slots. */
export const reserveScript: ScriptDefinition = {
  name: 'ratelimit.compound-reserve',
  lua: RESERVE_LUA,
  memory: reserveTwin,
  binaryReply: true,
}

/** Commit or release step of a compound decision across Cluster slots. */
export const settleScript: ScriptDefinition = {
  name: 'ratelimit.compound-settle',
  lua: SETTLE_LUA,
  memory: settleTwin,
}
