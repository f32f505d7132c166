// The public rate limiter: consume/peek/reset/penalty/reward/block on top of one atomic script per
// algorithm, with per-turn batching, the in-process blocked cache and the store-failure policy.

import calculateSlot from 'cluster-key-slot'
import type { Bus } from '../bus/bus.js'
import { type Duration, parseDuration } from '../config/duration.js'
import { errorMessage, InvalidOptionsError, RedisOutOfMemoryError, RedisUnavailableError } from '../errors.js'
import type { FeatureContext } from '../feature-context.js'
import type { KeyBuilder } from '../keys/key-builder.js'
import type { Logger } from '../logger.js'
import type { ScriptDefinition, ScriptReply, Store } from '../store/store.js'
import type { Algorithm } from './algorithms/algorithm.js'
import { fixedWindow } from './algorithms/fixed-window.js'
import {
  type OpReply,
  opReplies,
  packOpReplies,
  rateLimitScript,
  scriptArgs,
} from './algorithms/rate-limit-script.js'
import { slidingWindow } from './algorithms/sliding-window.js'
import { tokenBucket } from './algorithms/token-bucket.js'
import { BlockedCache } from './blocked-cache.js'
import { InsuranceLimiter } from './insurance-limiter.js'
import {
  type RateLimiterOptions,
  type ResolvedLimiterOptions,
  resolveLimiterOptions,
} from './limiter-options.js'
import { ScriptBatcher } from './script-batcher.js'

/** The outcome of a rate-limit decision. */
export interface RateLimitResult {
  /** Whether the request may proceed. */
  allowed: boolean
  /** The limit that applied (the insurance limit while Redis is unreachable). */
  limit: number
  /** Units still available now (after this request when it was allowed). */
  remaining: number
  /** Epoch ms at which the whole limit is available again if nothing else arrives. */
  resetAt: number
  /** When rejected, ms until a request of the same cost can pass; `0` when allowed. */
  retryAfterMs: number
  /** True when the key is blocked (by `blockFor` or `block()`); `retryAfterMs` is then the rest of the block. */
  blocked: boolean
}

/** Counters of one limiter, under `kit.metrics().ratelimit[name]`. */
export type RateLimiterMetrics = {
  allowed: number
  rejected: number
  /** Rejections answered by the blocked cache without a round trip. */
  blockedCacheHits: number
  /** Script calls sent to the store (each may carry many decisions). */
  storeCalls: number
  /** Store calls that failed because Redis was unreachable. */
  storeErrors: number
  /** Decisions made by the insurance limiter. */
  insuranceDecisions: number
  /** Requests allowed without a decision (`onStoreError: 'allow'`). */
  failOpen: number
  /** Requests rejected without a decision (`onStoreError: 'deny'`). */
  failClosed: number
}

/** What a limiter uses of the feature context. */
export type LimiterContext = Pick<
  FeatureContext,
  'store' | 'keys' | 'logger' | 'registerMetrics' | 'onClose'
> &
  Partial<Pick<FeatureContext, 'bus'>>

const ALGORITHMS: Record<ResolvedLimiterOptions['algorithm'], Algorithm> = {
  'fixed-window': fixedWindow as Algorithm,
  'sliding-window': slidingWindow as Algorithm,
  'token-bucket': tokenBucket as Algorithm,
}

/**
 * Most keys one script call decides. A turn with more keys goes out as several calls, one per turn of
 * the event loop, so the server runs one call while this process decodes the reply of the previous one
 * and queues the next. With 100 requests in flight one call of 100 keys made the two take turns (each
 * idle half the time, ~210k decisions/s on one node); calls of 16 keep several in flight and both busy
 * (~390k), while the per-call cost of EVALSHA stays small.
 */
const MAX_KEYS_PER_CALL = 16

const SCRIPTS = new Map<string, ScriptDefinition>(
  Object.values(ALGORITHMS).map((algorithm) => {
    const script = rateLimitScript(algorithm)
    return [algorithm.name, script]
  }),
)

/**
 * A named rate limiter. Create it with `kit.limiter(name, options)` once, at startup, and call
 * {@link consume} per request. Every decision is one atomic script on Redis (or its twin in memory
 * mode); decisions of one event-loop turn share one script call per Cluster slot.
 *
 * @example
 * const api = kit.limiter('api', { algorithm: 'sliding-window', limit: 100, window: '1m' })
 * const result = await api.consume(`user:${userId}`)
 * if (!result.allowed) throw new TooManyRequests(result.retryAfterMs)
 */
export class RateLimiter {
  /** The name given to `kit.limiter`; part of every key. */
  readonly name: string
  /** The resolved policy. */
  readonly options: Readonly<ResolvedLimiterOptions>
  readonly #store: Store
  readonly #keys: KeyBuilder
  readonly #logger: Logger
  readonly #script: ScriptDefinition
  readonly #settings: (string | number)[]
  readonly #batcher: ScriptBatcher
  readonly #blocked: BlockedCache
  readonly #insurance: InsuranceLimiter
  readonly #insuranceLimit: number
  readonly #metrics: RateLimiterMetrics = {
    allowed: 0,
    rejected: 0,
    blockedCacheHits: 0,
    storeCalls: 0,
    storeErrors: 0,
    insuranceDecisions: 0,
    failOpen: 0,
    failClosed: 0,
  }
  #degraded = false
  readonly #bus: Bus | undefined
  /** The subscription to other instances' unblocks (see {@link #listenForUnblocks}). */
  #unblocks: Promise<(() => Promise<void>) | undefined> | undefined
  /** True once that subscription is active: blocks are cached only then, so no unblock can be missed. */
  #listening = false
  #stopListening: (() => Promise<void>) | undefined

  /** @internal use `kit.limiter(name, options)` @throws InvalidOptionsError */
  constructor(context: LimiterContext, name: string, options: RateLimiterOptions) {
    this.options = Object.freeze(resolveLimiterOptions(name, options))
    this.name = name
    this.#store = context.store
    this.#logger = context.logger
    this.#bus = context.bus
    this.#keys = context.keys.scope('ratelimit', name)
    this.#script = SCRIPTS.get(this.options.algorithm)!
    this.#store.defineScript(this.#script)
    this.#settings = settingsArgs(this.options, this.options.limit)
    this.#insuranceLimit = Math.ceil(this.options.limit / this.options.instances)
    this.#insurance = new InsuranceLimiter(this.#script, settingsArgs(this.options, this.#insuranceLimit))
    this.#blocked = new BlockedCache(this.options.blockedCacheSize)
    this.#batcher = new ScriptBatcher(
      (keys, ops) => this.#execute(keys, ops),
      context.store.mode === 'cluster' ? calculateSlot : undefined,
      MAX_KEYS_PER_CALL,
    )
    context.registerMetrics('ratelimit', name, () => this.metrics())
    // Unblocks sent while the subscriber was down were missed: forget every cached block.
    const stopReconnect = this.#bus?.onReconnect(() => this.#blocked.clear())
    this.#listenForUnblocks()
    context.onClose(async () => {
      stopReconnect?.()
      this.#blocked.clear()
      // A subscription still pending (Redis down) is not awaited: closing the store ends it.
      const unsubscribe = this.#stopListening
      this.#stopListening = undefined
      this.#listening = false
      await unsubscribe?.().catch(() => {})
      await this.#insurance.close()
    })
  }

  /**
   * Takes `cost` units for `key` if they fit; a rejected request takes nothing unless `countRejected`
   * is set. A key known to be blocked is rejected from memory, without a round trip.
   * @param key who is limited, e.g. `ip:203.0.113.7` or `user:42` (any string; it is encoded into the key)
   * @param cost units this request takes, a whole number from 1 to `limit`. @default 1
   */
  async consume(key: string, cost = 1): Promise<RateLimitResult> {
    checkKey(key)
    if (!Number.isSafeInteger(cost) || cost < 1 || cost > this.options.limit) {
      throw new InvalidOptionsError(
        `consume cost must be a whole number from 1 to the limit (${this.options.limit}), got ${String(cost)}.`,
      )
    }
    const until = this.#blocked.blockedUntil(key)
    if (until !== undefined) {
      this.#metrics.blockedCacheHits++
      this.#metrics.rejected++
      const wait = until - Date.now()
      return {
        allowed: false,
        limit: this.options.limit,
        remaining: 0,
        resetAt: until,
        retryAfterMs: wait,
        blocked: true,
      }
    }
    const result = this.#result(key, await this.#batcher.submit(this.#keys.tagged(key), `c${cost}`))
    if (result.allowed) this.#metrics.allowed++
    else this.#metrics.rejected++
    return result
  }

  /** The state of `key` without taking anything: `allowed` tells whether a request of cost 1 would pass now. */
  async peek(key: string): Promise<RateLimitResult> {
    checkKey(key)
    return this.#result(key, await this.#batcher.submit(this.#keys.tagged(key), 'p0'))
  }

  /**
   * Forgets everything about `key`: counts, block and strikes; other instances drop it from their blocked
   * cache (over the bus). Rejects with `RedisUnavailableError` when Redis is down.
   */
  async reset(key: string): Promise<void> {
    checkKey(key)
    this.#blocked.forget(key)
    await this.#direct(key, 'r0')
    await this.#announceUnblock(key)
  }

  /** Takes `units` more from `key` even beyond its limit (e.g. after a failed login). */
  penalty(key: string, units: number): Promise<RateLimitResult> {
    checkKey(key)
    checkUnits(units, 'penalty')
    return this.#direct(key, `f${units}`)
  }

  /** Gives `units` back to `key` (e.g. after a successful login); never below an empty count. */
  reward(key: string, units: number): Promise<RateLimitResult> {
    checkKey(key)
    checkUnits(units, 'reward')
    return this.#direct(key, `f${-units}`)
  }

  /**
   * Blocks `key` for `duration` from now, replacing any block it has; `0` lifts the block (and other
   * instances drop it from their blocked cache).
   * @example await limiter.block('ip:203.0.113.7', '15m')
   */
  async block(key: string, duration: Duration): Promise<void> {
    checkKey(key)
    const ms = parseDuration(duration, 'block duration')
    if (ms === 0) this.#blocked.forget(key)
    await this.#direct(key, `b${ms}`)
    if (ms === 0) await this.#announceUnblock(key)
  }

  /** This limiter's counters (also under `kit.metrics().ratelimit[name]`). */
  metrics(): RateLimiterMetrics {
    return { ...this.#metrics, storeCalls: this.#batcher.calls + this.#metrics.storeCalls }
  }

  /** Admin ops go out at once, alone: they are rare, and must not be decided by the insurance limiter. */
  async #direct(key: string, op: string): Promise<RateLimitResult> {
    this.#metrics.storeCalls++
    const reply = await this.#store.runScript(
      this.#script.name,
      [this.#keys.tagged(key)],
      [...this.#settings, op],
    )
    return this.#result(key, opReplies(reply)[0]!)
  }

  /** Tells the other instances to drop `key` from their blocked cache. Best effort: a failure is logged. */
  async #announceUnblock(key: string): Promise<void> {
    try {
      await this.#bus?.publish(this.#unblockChannel, { key })
    } catch (error) {
      this.#logger.warn(
        { limiter: this.name, error: errorMessage(error) },
        `redkit: rate limiter '${this.name}' could not tell other instances about an unblock`,
      )
    }
  }

  get #unblockChannel(): string {
    return `ratelimit:${this.name}:unblock`
  }

  /**
   * Subscribes to other instances' unblocks (from construction, and again after a failed attempt).
   * Until the subscription is active blocks are not cached: an unblock sent meanwhile would be missed.
   */
  #listenForUnblocks(): void {
    if (!this.#bus || this.#unblocks || this.options.blockedCacheSize === 0) return
    this.#unblocks = this.#bus
      .subscribe<{ key?: unknown }>(this.#unblockChannel, (payload) => {
        if (typeof payload?.key === 'string') this.#blocked.forget(payload.key)
      })
      .then((unsubscribe) => {
        this.#listening = true
        this.#stopListening = unsubscribe
        return unsubscribe
      })
      .catch((error: unknown) => {
        // Try again with the next cached block.
        this.#unblocks = undefined
        this.#logger.debug(
          { limiter: this.name, error: errorMessage(error) },
          'redkit: rate limiter could not subscribe to unblocks',
        )
        return undefined
      })
  }

  #result(key: string, [allowed, remaining, resetMs, retryMs, blockedMs]: OpReply): RateLimitResult {
    const now = Date.now()
    if (blockedMs > 0) {
      if (this.#listening || !this.#bus) this.#blocked.remember(key, blockedMs)
      else this.#listenForUnblocks()
    }
    return {
      allowed: allowed === 1,
      limit:
        this.#degraded && this.options.onStoreError === 'insurance'
          ? this.#insuranceLimit
          : this.options.limit,
      remaining,
      resetAt: now + resetMs,
      retryAfterMs: retryMs,
      blocked: blockedMs > 0,
    }
  }

  async #execute(keys: string[], ops: string[]): Promise<ScriptReply> {
    try {
      const reply = await this.#store.runScript(this.#script.name, keys, scriptArgs(this.#settings, ops))
      if (this.#degraded) {
        this.#degraded = false
        this.#logger.info(
          { limiter: this.name },
          `redkit: rate limiter '${this.name}' decides on Redis again`,
        )
      }
      return reply
    } catch (error) {
      // A full Redis (OOM under noeviction) refuses the script as surely as a down one: same policy.
      if (!(error instanceof RedisUnavailableError) && !(error instanceof RedisOutOfMemoryError)) throw error
      return this.#fallback(keys, ops, error)
    }
  }

  #fallback(keys: string[], ops: string[], error: Error): Promise<ScriptReply> {
    this.#metrics.storeErrors++
    const policy = this.options.onStoreError
    const decisions = ops.reduce((sum, list) => sum + countOps(list), 0)
    if (!this.#degraded) {
      this.#degraded = true
      // Once per outage: every decision meanwhile is counted in the metrics instead.
      this.#logger.warn(
        { limiter: this.name, policy, error: error.message },
        policy === 'insurance'
          ? `redkit: Redis unavailable; rate limiter '${this.name}' uses its in-process insurance limiter`
          : `redkit: Redis unavailable; rate limiter '${this.name}' ${policy === 'allow' ? 'allows (fails open)' : 'denies'} every request`,
      )
    }
    if (policy === 'insurance') {
      this.#metrics.insuranceDecisions += decisions
      return this.#insurance.run(keys, ops)
    }
    const windowMs = this.options.windowMs
    const one = policy === 'allow' ? [1, this.options.limit, 0, 0, 0] : [0, 0, windowMs, windowMs, 0]
    if (policy === 'allow') this.#metrics.failOpen += decisions
    else this.#metrics.failClosed += decisions
    return Promise.resolve(packOpReplies(Array.from({ length: decisions }, () => one).flat()))
  }
}

function settingsArgs(options: ResolvedLimiterOptions, limit: number): (string | number)[] {
  const block = options.block
  return [
    limit,
    options.windowMs,
    options.countRejected ? 1 : 0,
    block?.durationMs ?? 0,
    block?.multiplier ?? 1,
    block?.maxMs ?? 0,
    block?.forgetMs ?? 0,
  ]
}

function countOps(list: string): number {
  let count = 0
  for (let i = 0; i < list.length; i++) {
    const code = list.charCodeAt(i)
    if (code >= 97 && code <= 122) count++
  }
  return count
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '') {
    throw new InvalidOptionsError('A rate-limit key must be a non-empty string, e.g. `ip:203.0.113.7`.')
  }
}

function checkUnits(units: number, what: string): void {
  if (!Number.isSafeInteger(units) || units < 0) {
    throw new InvalidOptionsError(`${what} takes a whole number of units >= 0, got ${String(units)}.`)
  }
}

const limiters = new WeakMap<Store, Map<string, RateLimiter>>()

/**
 * The limiter `name` of a kit: created on first call, the same instance afterwards, so a limiter made
 * inside a request handler does not pile up. Asking again with other options is a mistake.
 * @throws InvalidOptionsError when the options are invalid, or differ from those `name` was created with
 */
export function limiterFor(context: LimiterContext, name: string, options: RateLimiterOptions): RateLimiter {
  let named = limiters.get(context.store)
  if (!named) {
    named = new Map()
    limiters.set(context.store, named)
  }
  const existing = named.get(name)
  if (existing) {
    const wanted = resolveLimiterOptions(name, options)
    if (JSON.stringify(wanted) !== JSON.stringify(existing.options)) {
      throw new InvalidOptionsError(
        `limiter '${name}' already exists with other options; give this one another name.`,
      )
    }
    return existing
  }
  const limiter = new RateLimiter(context, name, options)
  named.set(name, limiter)
  return limiter
}
