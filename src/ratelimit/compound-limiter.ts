// Compound limits: one decision over several limiters (per IP, per user, per route...) where every part
// takes its cost or none does; one script on one slot, reserve/commit across Cluster slots.

import { randomUUID } from 'node:crypto'
import calculateSlot from 'cluster-key-slot'
import { type Duration, parseDuration } from '../config/duration.js'
import { checkOptionKeys, describeValue } from '../config/validate.js'
import { errorMessage, InvalidOptionsError, RedisOutOfMemoryError, RedisUnavailableError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Store } from '../store/store.js'
import { compoundScript, reserveScript, settleScript } from './algorithms/compound-script.js'
import { type OpReply, opReplies } from './algorithms/rate-limit-script.js'
import { type LimiterInternals, limiterInternals, type RateLimiter, type RateLimitResult } from './limiter.js'

/** One part of a {@link CompoundLimiter}: a limiter, and the name its answers carry. */
export interface CompoundPart {
  /** The limiter of this part (from `kit.limiter`). */
  limiter: RateLimiter
  /**
   * Names the part in {@link CompoundLimitResult.rejectedName} and, in the middleware, the policy in
   * the RateLimit headers.
   * @default the limiter's name
   * @example 'per-ip'
   */
  name?: string
}

/** One part of a one-shot `kit.compoundLimit(parts)`: the limiter, the key it limits and the cost. */
export interface CompoundLimitPart extends CompoundPart {
  /**
   * Who this part limits, e.g. `ip:203.0.113.7`.
   * @example 'user:42'
   */
  key: string
  /**
   * Units this part takes.
   * @default 1
   * @example 5
   */
  cost?: number
}

/** Options of a compound limit. */
export interface CompoundLimitOptions {
  /**
   * On Cluster: keep every part's counter in the slot of this tag, so one script decides them all in one
   * round trip (on one node: that slot's master carries all of this compound's load). The counters are
   * then the compound's own (`<prefix>ratelimit:<name>:{<hashTag>}:<key>`), apart from those that
   * `limiter.consume(key)` uses. Without it, parts in different slots are decided in two steps
   * (reserve, then commit or release). Used in every mode, so the stored keys are the same everywhere.
   * @default undefined
   * @example 'login'
   */
  hashTag?: string
  /**
   * How long a reservation of the two-step path holds its units: if the process dies between the
   * steps, the reservation expires after this and nothing stays consumed.
   * @default '5s'
   * @example '2s'
   */
  reservationTtl?: Duration
}

/** The answer of a compound limit: the binding part's numbers, and each part's own. */
export interface CompoundLimitResult extends RateLimitResult {
  /**
   * Each part's result, in part order. When the request was refused, a part with `allowed: true` would
   * have let it pass, and took nothing. `undefined` for parts not asked, when another part was known
   * in process to refuse the request.
   */
  parts: (RateLimitResult | undefined)[]
  /** Index of the part that refused the request (the one with the longest wait); `undefined` when allowed. */
  rejectedBy: number | undefined
  /** The name of that part (its `name`, or its limiter's name). */
  rejectedName: string | undefined
  /**
   * Index of the part whose numbers are at the top of this result: the refusing part, or, when allowed,
   * the part with the least remaining. Its headers are the ones the middleware sends.
   */
  binding: number
}

/** What a compound limiter needs of the kit. */
export interface CompoundContext {
  store: Store
  logger: Logger
}

interface ResolvedPart {
  limiter: RateLimiter
  name: string
  internals: LimiterInternals
}

/** A decision waiting for its turn's script call. */
interface PendingDecision {
  keys: readonly string[]
  costs: readonly number[]
  resolve(replies: OpReply[]): void
  reject(error: unknown): void
}

/** The decisions of one turn that share a slot and the parts' policies: they go out in one call. */
interface PendingBatch {
  specs: (string | number)[]
  decisions: PendingDecision[]
}

/**
 * Most keys one script call carries: 256 keys (85 decisions of 3 parts) hold the server about half a
 * millisecond. With 100 decisions in flight, two calls of 50 sent on successive turns measured about
 * 20% faster than seven calls of 16 sent together, which reached the server and came back at once, so
 * the server and this process took turns.
 */
const MAX_KEYS_PER_CALL = 256

/** A turn with at least twice this many decisions goes out as two calls (see #flush). */
const MIN_DECISIONS_TO_SPLIT = 16

const OPTIONS = new Set(['hashTag', 'reservationTtl'])
const PART_OPTIONS = new Set(['limiter', 'name'])
const LIMIT_PART_OPTIONS = new Set(['limiter', 'name', 'key', 'cost'])

/** Stores the compound scripts are defined on (hashing them again for every compound would cost). */
const defined = new WeakSet<Store>()

/** Runs between the two steps of the reserve/commit path; only the kill-between-steps test sets it. */
let betweenSteps: (() => Promise<void>) | undefined

/** @internal Test hook: runs after every part is reserved and before the commit. */
export function setCompoundStepHook(hook: (() => Promise<void>) | undefined): void {
  betweenSteps = hook
}

/**
 * Several limits checked as one: a request passes only when every part lets it, and then every part
 * takes its cost; when one part refuses, no other part's counter moves. On the embedded store, a single
 * node, Sentinel, or Cluster with a `hashTag` (or keys that share a slot), one script in one round trip
 * decides all parts. On Cluster with parts in several slots: each slot's parts are reserved (units held
 * by a reservation that expires by itself after `reservationTtl`), then committed, or released when a
 * part refused. Parts may use different algorithms.
 *
 * A part whose key is known in process to be over its limit (or blocked) refuses without a round trip.
 *
 * @example
 * const perIp = kit.limiter('ip', { limit: 100, window: '1m' })
 * const perUser = kit.limiter('user', { algorithm: 'token-bucket', limit: 20, window: '1m' })
 * const both = kit.compoundLimiter([{ limiter: perIp }, { limiter: perUser }])
 * const result = await both.consume([`ip:${ip}`, `user:${userId}`])
 * if (!result.allowed) reply429(result.retryAfterMs, result.rejectedName)
 */
export class CompoundLimiter {
  /** The parts, in order. */
  readonly parts: readonly Readonly<CompoundPart>[]
  readonly #parts: ResolvedPart[]
  readonly #store: Store
  readonly #logger: Logger
  readonly #hashTag: string | undefined
  readonly #holdMs: number
  readonly #pending = new Map<string, PendingBatch>()
  #scheduled = false

  /** @internal use `kit.compoundLimiter(parts, options)` @throws InvalidOptionsError */
  constructor(context: CompoundContext, parts: readonly CompoundPart[], options: CompoundLimitOptions = {}) {
    const where = 'compoundLimiter'
    if (!Array.isArray(parts) || parts.length === 0) {
      throw new InvalidOptionsError(`${where} needs at least one part: [{ limiter: kit.limiter(...) }].`)
    }
    checkOptionKeys(options, OPTIONS, where, { example: "{ hashTag: 'login' }" })
    this.#parts = parts.map((part, index) => {
      checkOptionKeys(part, PART_OPTIONS, where, { path: `parts[${index}]` })
      const internals = part?.limiter ? limiterInternals(part.limiter) : undefined
      if (!internals) {
        throw new InvalidOptionsError(
          `${where}: parts[${index}].limiter must be a limiter from kit.limiter(), got ${describeValue(part?.limiter)}.`,
        )
      }
      if (internals.store !== context.store) {
        throw new InvalidOptionsError(`${where}: parts[${index}].limiter belongs to another kit.`)
      }
      if (part.name !== undefined && (typeof part.name !== 'string' || part.name === '')) {
        throw new InvalidOptionsError(`${where}: parts[${index}].name must be a non-empty string.`)
      }
      return { limiter: part.limiter, name: part.name ?? part.limiter.name, internals }
    })
    const seen = new Set<RateLimiter>()
    for (const [index, { limiter }] of this.#parts.entries()) {
      // One decision reads and writes each counter once: a limiter twice would share its counters.
      if (seen.has(limiter)) {
        throw new InvalidOptionsError(
          `${where}: parts[${index}] uses limiter '${limiter.name}' again; give each part its own limiter.`,
        )
      }
      seen.add(limiter)
    }
    if (options.hashTag !== undefined && (typeof options.hashTag !== 'string' || options.hashTag === '')) {
      throw new InvalidOptionsError(`${where}: hashTag must be a non-empty string, e.g. 'login'.`)
    }
    this.#hashTag = options.hashTag
    this.#holdMs = parseDuration(options.reservationTtl ?? '5s', `${where}: reservationTtl`)
    if (this.#holdMs < 1) throw new InvalidOptionsError(`${where}: reservationTtl must be at least 1 ms.`)
    this.parts = Object.freeze(this.#parts.map(({ limiter, name }) => Object.freeze({ limiter, name })))
    this.#store = context.store
    this.#logger = context.logger
    if (!defined.has(this.#store)) {
      for (const script of [compoundScript, reserveScript, settleScript]) this.#store.defineScript(script)
      defined.add(this.#store)
    }
  }

  /**
   * Takes `cost` from every part, or nothing when one part refuses.
   * @param keys one key per part, in part order
   * @param cost units per part: one number for all, or one per part. @default 1
   * @throws InvalidOptionsError for a missing key or a bad cost
   */
  async consume(keys: readonly string[], cost: number | readonly number[] = 1): Promise<CompoundLimitResult> {
    const costs = this.#costs(keys, cost)
    for (const part of this.#parts) {
      const loading = part.internals.ensureLimits()
      if (loading) await loading
    }
    const limits = this.#parts.map((part, i) => part.internals.limitOf(keys[i]!))
    costs.forEach((units, i) => {
      if (units > limits[i]!) {
        throw new InvalidOptionsError(
          `compound cost of part ${i} must be at most its limit (${limits[i]}), got ${units}.`,
        )
      }
    })
    // A tagged part has counters of its own, which the limiter's in-process answers do not cover.
    if (this.#hashTag === undefined) {
      for (let i = 0; i < this.#parts.length; i++) {
        const known = this.#parts[i]!.internals.known(keys[i]!, costs[i]!, limits[i]!)
        if (known) {
          const parts: (RateLimitResult | undefined)[] = this.#parts.map(() => undefined)
          parts[i] = known
          return this.#compose(parts)
        }
      }
    }
    const storeKeys = this.#parts.map((part, i) => part.internals.storeKey(keys[i]!, this.#hashTag))
    let replies: OpReply[]
    const oneSlot = this.#oneSlot(storeKeys)
    try {
      replies = oneSlot
        ? await this.#submit(storeKeys, limits, costs)
        : await this.#twoSteps(
            keys,
            storeKeys,
            this.#parts.map((part, i) => [...part.internals.partSpec(limits[i]!), costs[i]!]),
          )
    } catch (error) {
      if (!(error instanceof RedisUnavailableError) && !(error instanceof RedisOutOfMemoryError)) throw error
      // Each part's own store-error policy decides (in process), part by part.
      const parts = await Promise.all(this.#parts.map((part, i) => part.limiter.consume(keys[i]!, costs[i])))
      return this.#compose(parts)
    }
    const allowed = replies.every((reply) => reply[0] === 1)
    const parts = this.#parts.map((part, i) => {
      const reply = replies[i]!
      if (allowed || reply[0] !== 1) part.internals.counted(reply[0] === 1)
      // Only a refusing part is remembered: a passive one took nothing.
      // Across slots a refusal may come from another decision's reservation, released a moment later:
      // only blocks are remembered then.
      const remember = this.#hashTag === undefined && (oneSlot || reply[4] > 0)
      return part.internals.result(keys[i]!, reply, costs[i]!, limits[i]!, remember)
    })
    return this.#compose(parts)
  }

  /**
   * Gives `cost` back to every part (a refund, e.g. for a request that should not have counted).
   * @param keys one key per part, in part order
   * @param cost units per part. @default 1
   */
  async reward(keys: readonly string[], cost: number | readonly number[] = 1): Promise<void> {
    const costs = this.#costs(keys, cost)
    if (this.#hashTag !== undefined) {
      // Tagged counters are the compound's own: a negative commit gives the units back in one call.
      const storeKeys = this.#parts.map((part, i) => part.internals.storeKey(keys[i]!, this.#hashTag))
      const args = this.#parts.map((part, i) => [
        ...part.internals.partSpec(part.internals.limitOf(keys[i]!)),
        -costs[i]!,
      ])
      const holdsKeys = this.#parts.map((part, i) => part.internals.holdsKey(keys[i]!, this.#hashTag))
      const all = this.#parts.map((_, i) => i)
      await this.#settle(all, storeKeys, holdsKeys, args, randomUUID(), true)
      return
    }
    await Promise.all(this.#parts.map((part, i) => part.limiter.reward(keys[i]!, costs[i]!)))
  }

  #costs(keys: readonly string[], cost: number | readonly number[]): number[] {
    if (!Array.isArray(keys) || keys.length !== this.#parts.length) {
      throw new InvalidOptionsError(
        `a compound limit of ${this.#parts.length} parts takes ${this.#parts.length} keys, one per part.`,
      )
    }
    keys.forEach((key, i) => {
      if (typeof key !== 'string' || key === '') {
        throw new InvalidOptionsError(`compound key ${i} must be a non-empty string, e.g. 'ip:203.0.113.7'.`)
      }
    })
    const costs = typeof cost === 'number' ? keys.map(() => cost) : [...(cost as readonly number[])]
    if (costs.length !== keys.length || !costs.every((units) => Number.isSafeInteger(units) && units >= 1)) {
      throw new InvalidOptionsError(
        `compound cost must be a whole number >= 1, or one per part, got ${describeValue(cost)}.`,
      )
    }
    return costs
  }

  /**
   * Queues a one-slot decision; the decisions of this turn with the same slot and policies go out
   * together, at most MAX_KEYS_PER_CALL keys per call, and the script decides them in order.
   */
  #submit(keys: readonly string[], limits: readonly number[], costs: readonly number[]): Promise<OpReply[]> {
    const slot = this.#store.mode === 'cluster' ? calculateSlot(keys[0]!) : 0
    // The parts' policies differ only by their limits: those and the slot name the batch.
    const signature = `${slot} ${limits.join(' ')}`
    let batch = this.#pending.get(signature)
    if (!batch) {
      batch = { specs: this.#parts.flatMap((part, i) => part.internals.partSpec(limits[i]!)), decisions: [] }
      this.#pending.set(signature, batch)
    }
    const decisions = batch.decisions
    if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(() => this.#flush())
    }
    return new Promise<OpReply[]>((resolve, reject) => {
      decisions.push({ keys, costs, resolve, reject })
    })
  }

  #flush(): void {
    this.#scheduled = false
    const batches = [...this.#pending.values()]
    this.#pending.clear()
    const perCall = Math.max(1, Math.floor(MAX_KEYS_PER_CALL / this.#parts.length))
    for (const { specs, decisions } of batches) {
      // To a server, a large turn goes out as at least two calls, each a turn after the one before in its
      // own write: the server runs one while this process handles the other's replies, instead of each
      // side waiting in turn. The embedded store runs in this process: nothing to overlap there.
      const split = this.#store.mode !== 'memory' && decisions.length >= 2 * MIN_DECISIONS_TO_SPLIT
      const size = split ? Math.min(perCall, Math.ceil(decisions.length / 2)) : perCall
      const sendFrom = (from: number): void => {
        this.#send(specs, decisions.slice(from, from + size))
        if (from + size < decisions.length) setImmediate(() => sendFrom(from + size))
      }
      sendFrom(0)
    }
  }

  /** One script call for `chunk`, decided in order; each decision gets its parts' replies. */
  #send(specs: readonly (string | number)[], chunk: readonly PendingDecision[]): void {
    const count = this.#parts.length
    const keys = chunk.flatMap((decision) => decision.keys)
    const costs = chunk.flatMap((decision) => decision.costs)
    const args = [count, ...specs, ...(costs.every((units) => units === 1) ? ['*'] : costs)]
    this.#store.runScript(compoundScript.name, keys, args).then(
      (reply) => {
        let replies: OpReply[]
        try {
          replies = opReplies(reply)
          if (replies.length !== keys.length) {
            throw new TypeError(`the compound script replied for ${replies.length} parts, not ${keys.length}`)
          }
        } catch (error) {
          for (const decision of chunk) decision.reject(error)
          return
        }
        chunk.forEach((decision, d) => {
          decision.resolve(replies.slice(d * count, d * count + count))
        })
      },
      (error: unknown) => {
        for (const decision of chunk) decision.reject(error)
      },
    )
  }

  #oneSlot(storeKeys: readonly string[]): boolean {
    if (this.#store.mode !== 'cluster' || this.#hashTag !== undefined) return true
    const slot = calculateSlot(storeKeys[0]!)
    return storeKeys.every((key) => calculateSlot(key) === slot)
  }

  /** Reserve in every slot, then commit everywhere, or release where it was reserved. */
  async #twoSteps(
    keys: readonly string[],
    storeKeys: readonly string[],
    args: readonly (string | number)[][],
  ): Promise<OpReply[]> {
    const holdsKeys = this.#parts.map((part, i) => part.internals.holdsKey(keys[i]!))
    const groups = new Map<number, number[]>()
    storeKeys.forEach((key, i) => {
      const slot = calculateSlot(key)
      const group = groups.get(slot)
      if (group) group.push(i)
      else groups.set(slot, [i])
    })
    const id = randomUUID()
    const steps = await Promise.allSettled(
      [...groups.values()].map(async (indexes) => {
        const reply = await this.#store.runScript(
          reserveScript.name,
          indexes.flatMap((i) => [storeKeys[i]!, holdsKeys[i]!]),
          [id, this.#holdMs, ...indexes.flatMap((i) => args[i]!)],
        )
        return { indexes, replies: opReplies(reply) }
      }),
    )
    const replies: OpReply[] = []
    const reserved: number[][] = []
    let failure: unknown
    for (const step of steps) {
      if (step.status === 'rejected') {
        failure ??= step.reason
        continue
      }
      const { indexes, replies: mine } = step.value
      indexes.forEach((i, j) => {
        replies[i] = mine[j]!
      })
      if (mine.every((reply) => reply[0] === 1)) reserved.push(indexes)
    }
    const allowed = failure === undefined && reserved.length === groups.size
    if (allowed && betweenSteps) await betweenSteps()
    await Promise.all(
      reserved.map((indexes) =>
        this.#settle(indexes, storeKeys, holdsKeys, args, id, allowed).catch((error: unknown) => {
          // The reservation expires by itself; the decision stands.
          this.#logger.warn(
            { error: errorMessage(error) },
            `redkit: a compound limit could not ${allowed ? 'commit' : 'release'} a reservation; it expires by itself`,
          )
        }),
      ),
    )
    if (failure !== undefined) throw failure
    if (!allowed) {
      // A released part took nothing: its reply said what was left after taking its cost.
      for (const indexes of reserved) {
        for (const i of indexes) {
          const [ok, left, reset, retry, blocked] = replies[i]!
          replies[i] = [ok, left + Number(args[i]!.at(-1)), reset, retry, blocked]
        }
      }
    }
    return replies
  }

  async #settle(
    indexes: readonly number[],
    storeKeys: readonly string[],
    holdsKeys: readonly string[],
    args: readonly (string | number)[][],
    id: string,
    commit: boolean,
  ): Promise<void> {
    await this.#store.runScript(
      settleScript.name,
      indexes.flatMap((i) => [storeKeys[i]!, holdsKeys[i]!]),
      [id, commit ? '1' : '0', ...indexes.flatMap((i) => args[i]!)],
    )
  }

  #compose(parts: (RateLimitResult | undefined)[]): CompoundLimitResult {
    let rejectedBy: number | undefined
    let binding = -1
    parts.forEach((result, i) => {
      if (!result) return
      if (!result.allowed) {
        if (rejectedBy === undefined || result.retryAfterMs > parts[rejectedBy]!.retryAfterMs) rejectedBy = i
      } else if (binding === -1 || result.remaining < parts[binding]!.remaining) {
        binding = i
      }
    })
    if (rejectedBy !== undefined) binding = rejectedBy
    const top = parts[binding]!
    return {
      allowed: rejectedBy === undefined,
      limit: top.limit,
      remaining: top.remaining,
      resetAt: top.resetAt,
      retryAfterMs: rejectedBy === undefined ? 0 : top.retryAfterMs,
      blocked: top.blocked,
      parts,
      rejectedBy,
      rejectedName: rejectedBy === undefined ? undefined : this.#parts[rejectedBy]!.name,
      binding,
    }
  }
}

/**
 * Splits the parts of a one-shot compound limit into the limiter parts, the keys and the costs.
 * @throws InvalidOptionsError
 */
export function splitCompoundParts(parts: readonly CompoundLimitPart[]): {
  parts: CompoundPart[]
  keys: string[]
  costs: number[]
} {
  if (!Array.isArray(parts) || parts.length === 0) {
    throw new InvalidOptionsError('compoundLimit needs at least one part: [{ limiter, key }].')
  }
  parts.forEach((part, index) => {
    checkOptionKeys(part, LIMIT_PART_OPTIONS, 'compoundLimit', { path: `parts[${index}]` })
  })
  return {
    parts: parts.map(({ limiter, name }) => (name === undefined ? { limiter } : { limiter, name })),
    keys: parts.map((part) => part.key),
    costs: parts.map((part) => part.cost ?? 1),
  }
}
