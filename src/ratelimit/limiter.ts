// The public rate limiter: consume/peek/reset/penalty/reward/block on top of one atomic script per
// algorithm, with per-turn batching, the in-process blocked cache and the store-failure policy.

import calculateSlot from 'cluster-key-slot'
import type { Bus } from '../bus/bus.js'
import { type Duration, parseDuration } from '../config/duration.js'
import { checkOptionKeys } from '../config/validate.js'
import { errorMessage, InvalidOptionsError, RedisOutOfMemoryError, RedisUnavailableError } from '../errors.js'
import type { FeatureContext } from '../feature-context.js'
import type { KeyBuilder } from '../keys/key-builder.js'
import type { Logger } from '../logger.js'
import { limiterConsumeChannel, type RateLimitTraceContext } from '../metrics/tracing-channels.js'
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
import { BlockedCache, type KnownRejection } from './blocked-cache.js'
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
  /** Rejections of blocked keys answered in process, without a round trip. */
  blockedCacheHits: number
  /** Rejections of keys known to be over their limit answered in process, without a round trip. */
  exceededCacheHits: number
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
  /** The kit's key prefix, for trace contexts. */
  readonly #kitPrefix: string
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
    exceededCacheHits: 0,
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
  /** Script settings per limit in use (the configured one, runtime ones). */
  readonly #settingsByLimit = new Map<number, (string | number)[]>()
  /** A batcher per runtime limit other than the configured one (a call carries one limit). */
  readonly #batchers = new Map<number, ScriptBatcher>()
  /** The limit set at runtime for every key (`setLimit(n)`), when there is one. */
  #runtimeLimit: number | undefined
  /** Per-key limits set at runtime (`setLimit(n, { key })`). */
  readonly #keyLimits = new Map<string, number>()
  readonly #limitsKey: string
  /** True once the runtime limits were read (or reading them failed: the configured limit applies). */
  #limitsLoaded = false
  #limitsLoading: Promise<void> | undefined
  /** When a failed read of the runtime limits is tried again (0: not needed). */
  #limitsRetryAt = 0
  /** Bumped by every limit change, so a read that raced one is done again. */
  #limitsGeneration = 0
  #limitsSubscription: Promise<(() => Promise<void>) | undefined> | undefined

  /** @internal use `kit.limiter(name, options)` @throws InvalidOptionsError */
  constructor(context: LimiterContext, name: string, options: RateLimiterOptions) {
    this.options = Object.freeze(resolveLimiterOptions(name, options))
    this.name = name
    this.#store = context.store
    this.#logger = context.logger
    this.#bus = context.bus
    this.#keys = context.keys.scope('ratelimit', name)
    this.#kitPrefix = context.keys.prefix
    this.#script = SCRIPTS.get(this.options.algorithm)!
    this.#store.defineScript(this.#script)
    this.#settings = settingsArgs(this.options, this.options.limit)
    this.#settingsByLimit.set(this.options.limit, this.#settings)
    this.#limitsKey = this.#keys.build('limits')
    this.#insuranceLimit = Math.ceil(this.options.limit / this.options.instances)
    this.#insurance = new InsuranceLimiter(this.#script, settingsArgs(this.options, this.#insuranceLimit))
    this.#blocked = new BlockedCache(this.options.blockedCacheSize)
    this.#batcher = new ScriptBatcher(
      (keys, ops) => this.#execute(keys, ops),
      context.store.mode === 'cluster' ? calculateSlot : undefined,
      MAX_KEYS_PER_CALL,
    )
    context.registerMetrics('ratelimit', name, () => this.metrics())
    // Unblocks and limit changes sent while the subscriber was down were missed: forget every cached
    // rejection, and read the runtime limits again.
    const stopReconnect = this.#bus?.onReconnect(() => {
      this.#blocked.clear()
      if (this.#limitsLoaded) void this.#loadLimits()
    })
    this.#listenForUnblocks()
    this.#listenForLimits()
    internals.set(this, this.#internals())
    context.onClose(async () => {
      stopReconnect?.()
      this.#blocked.clear()
      // A subscription still pending (Redis down) is not awaited: closing the store ends it.
      const unsubscribe = this.#stopListening
      this.#stopListening = undefined
      this.#listening = false
      await unsubscribe?.().catch(() => {})
      const limits = this.#limitsSubscription
      this.#limitsSubscription = undefined
      if (limits) void limits.then((stop) => stop?.().catch(() => {}))
      await this.#insurance.close()
    })
  }

  /**
   * Takes `cost` units for `key` if they fit; a rejected request takes nothing unless `countRejected`
   * is set. A key known to be blocked is rejected from memory, without a round trip.
   * @param key who is limited, e.g. `ip:203.0.113.7` or `user:42` (any string; it is encoded into the key)
   * @param cost units this request takes, a whole number from 1 to `limit`. @default 1
   */
  consume(key: string, cost = 1): Promise<RateLimitResult> {
    if (limiterConsumeChannel.hasSubscribers) return this.#tracedConsume(key, cost)
    return this.#consume(key, cost)
  }

  /** {@link consume} published on `redkit:limiter:consume`; the client key stays out of the context. */
  #tracedConsume(key: string, cost: number): Promise<RateLimitResult> {
    const context: RateLimitTraceContext = { prefix: this.#kitPrefix, limiter: this.name, cost }
    return limiterConsumeChannel.tracePromise(async () => {
      const result = await this.#consume(key, cost)
      context.allowed = result.allowed
      context.remaining = result.remaining
      context.blocked = result.blocked
      return result
    }, context)
  }

  async #consume(key: string, cost: number): Promise<RateLimitResult> {
    checkKey(key)
    if (!this.#limitsLoaded) await this.#ensureLimits()
    else if (this.#limitsRetryAt !== 0 && Date.now() >= this.#limitsRetryAt) void this.#ensureLimits()
    const limit = this.#limitOf(key)
    checkCost(cost, limit)
    const known = this.#known(key, cost, limit)
    if (known) return known
    const result = this.#result(
      key,
      await this.#batcherFor(limit).submit(this.#keys.tagged(key), `c${cost}`),
      cost,
      limit,
    )
    if (result.allowed) this.#metrics.allowed++
    else this.#metrics.rejected++
    return result
  }

  /** The state of `key` without taking anything: `allowed` tells whether a request of cost 1 would pass now. */
  async peek(key: string): Promise<RateLimitResult> {
    checkKey(key)
    if (!this.#limitsLoaded) await this.#ensureLimits()
    const limit = this.#limitOf(key)
    return this.#result(key, await this.#batcherFor(limit).submit(this.#keys.tagged(key), 'p0'), 0, limit)
  }

  /**
   * Forgets everything about `key`: counts, block and strikes; other instances drop it from their blocked
   * cache (over the bus). Rejects with `RedisUnavailableError` when Redis is down.
   */
  async reset(key: string): Promise<void> {
    checkKey(key)
    this.#blocked.forget(key)
    await this.#direct(key, 'r0')
    await this.#announceUnblock({ key })
  }

  /** Takes `units` more from `key` even beyond its limit (e.g. after a failed login). */
  penalty(key: string, units: number): Promise<RateLimitResult> {
    checkKey(key)
    checkUnits(units, 'penalty')
    return this.#direct(key, `f${units}`)
  }

  /**
   * Gives `units` back to `key` (e.g. after a successful login); never below an empty count. A key this
   * instance or another knew to be over its limit is asked about again (over the bus).
   */
  async reward(key: string, units: number): Promise<RateLimitResult> {
    checkKey(key)
    checkUnits(units, 'reward')
    this.#blocked.forget(key)
    const result = await this.#direct(key, `f${-units}`)
    // A key still blocked stays refused everywhere: nothing to announce.
    if (!result.blocked) await this.#announceUnblock({ key })
    return result
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
    if (ms === 0) await this.#announceUnblock({ key })
  }

  /**
   * Changes the limit at runtime, for every key or for one `key`: stored in Redis (under
   * `<prefix>ratelimit:<name>:limits`, without expiry) and pushed over the bus, so every instance applies
   * it within bus delivery, without an extra round trip per request. Keys known to be over their limit
   * are asked about again. A per-key limit wins over the limit for every key, which wins over `options.limit`.
   * @param limit units per window, a whole number >= 1
   * @param options `key`: change the limit of this key only. @default every key
   * @throws InvalidOptionsError for a bad limit, or beyond 10,000 per-key limits
   * @example await api.setLimit(500, { key: 'user:42' }) // a customer on a bigger plan
   */
  async setLimit(limit: number, options: LimitTarget = {}): Promise<void> {
    const key = limitTarget(options, 'setLimit')
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidOptionsError(`setLimit takes a whole number >= 1, got ${String(limit)}.`)
    }
    if (this.options.algorithm === 'token-bucket' && this.options.windowMs * 1000 < limit) {
      throw new InvalidOptionsError('setLimit: a token bucket refills at most one token per microsecond.')
    }
    if (key !== undefined && !this.#keyLimits.has(key) && this.#keyLimits.size >= MAX_KEY_LIMITS) {
      throw new InvalidOptionsError(
        `limiter '${this.name}' has ${MAX_KEY_LIMITS} per-key limits already; clearLimit({ key }) some, or use several limiters.`,
      )
    }
    await this.#store.hset(this.#limitsKey, { [limitField(key)]: String(limit) })
    this.#applyLimit(key, limit)
    await this.#announceLimit(key, limit)
  }

  /**
   * Goes back to the configured limit, for every key (the per-key limits stay) or for one `key`.
   * @param options `key`: drop the runtime limit of this key only. @default the limit for every key
   * @example await api.clearLimit({ key: 'user:42' })
   */
  async clearLimit(options: LimitTarget = {}): Promise<void> {
    const key = limitTarget(options, 'clearLimit')
    await this.#store.hdel(this.#limitsKey, [limitField(key)])
    this.#applyLimit(key, undefined)
    await this.#announceLimit(key, undefined)
  }

  /** The limit that applies to `key` now (a runtime one, or the configured one). */
  limitFor(key?: string): number {
    return this.#limitOf(key)
  }

  /** This limiter's counters (also under `kit.metrics().ratelimit[name]`). */
  metrics(): RateLimiterMetrics {
    let calls = this.#batcher.calls + this.#metrics.storeCalls
    for (const batcher of this.#batchers.values()) calls += batcher.calls
    return { ...this.#metrics, storeCalls: calls }
  }

  /** Admin ops go out at once, alone: they are rare, and must not be decided by the insurance limiter. */
  async #direct(key: string, op: string): Promise<RateLimitResult> {
    this.#metrics.storeCalls++
    if (!this.#limitsLoaded) await this.#ensureLimits()
    const limit = this.#limitOf(key)
    const reply = await this.#store.runScript(
      this.#script.name,
      [this.#keys.tagged(key)],
      [...this.#settingsFor(limit), op],
    )
    return this.#result(key, opReplies(reply)[0]!, 0, limit)
  }

  /** The in-process answer for a key known to be rejected, counted; `undefined` when Redis must decide. */
  #known(key: string, cost: number, limit: number): RateLimitResult | undefined {
    const known: KnownRejection | undefined = this.#blocked.lookup(key, cost)
    if (!known) return undefined
    if (known.blocked) this.#metrics.blockedCacheHits++
    else this.#metrics.exceededCacheHits++
    this.#metrics.rejected++
    const now = Date.now()
    return {
      allowed: false,
      limit,
      remaining: known.remaining,
      resetAt: Math.max(known.resetAt, known.until),
      retryAfterMs: Math.max(1, known.until - now),
      blocked: known.blocked,
    }
  }

  #limitOf(key: string | undefined): number {
    return (
      (key === undefined ? undefined : this.#keyLimits.get(key)) ?? this.#runtimeLimit ?? this.options.limit
    )
  }

  #settingsFor(limit: number): (string | number)[] {
    let settings = this.#settingsByLimit.get(limit)
    if (!settings) {
      settings = settingsArgs(this.options, limit)
      this.#settingsByLimit.set(limit, settings)
    }
    return settings
  }

  #batcherFor(limit: number): ScriptBatcher {
    if (limit === this.options.limit) return this.#batcher
    let batcher = this.#batchers.get(limit)
    if (!batcher) {
      const settings = this.#settingsFor(limit)
      batcher = new ScriptBatcher(
        (keys, ops) => this.#execute(keys, ops, settings),
        this.#store.mode === 'cluster' ? calculateSlot : undefined,
        MAX_KEYS_PER_CALL,
      )
      this.#batchers.set(limit, batcher)
    }
    return batcher
  }

  /** Reads the runtime limits once (concurrent callers share the read). */
  #ensureLimits(): Promise<void> {
    this.#limitsLoading ??= this.#loadLimits().finally(() => {
      this.#limitsLoading = undefined
    })
    return this.#limitsLoading
  }

  async #loadLimits(): Promise<void> {
    try {
      // Subscribed first, so a change published after the read below is not missed.
      await this.#limitsSubscription
      for (let attempt = 0; attempt < 3; attempt++) {
        const generation = this.#limitsGeneration
        const fields = await this.#store.hgetall(this.#limitsKey)
        if (generation !== this.#limitsGeneration) continue
        this.#keyLimits.clear()
        this.#runtimeLimit = undefined
        for (const [field, value] of Object.entries(fields)) {
          const limit = Number(value)
          if (!Number.isSafeInteger(limit) || limit < 1) continue
          if (field === '*') this.#runtimeLimit = limit
          else if (field.startsWith('k:')) this.#keyLimits.set(field.slice(2), limit)
        }
        break
      }
      this.#limitsRetryAt = 0
    } catch (error) {
      // The configured limit applies meanwhile; the read is tried again a second later, in the background.
      this.#limitsRetryAt = Date.now() + 1000
      this.#logger.debug(
        { limiter: this.name, error: errorMessage(error) },
        'redkit: rate limiter could not read its runtime limits',
      )
    } finally {
      this.#limitsLoaded = true
    }
  }

  #applyLimit(key: string | undefined, limit: number | undefined): void {
    this.#limitsGeneration++
    if (key === undefined) {
      this.#runtimeLimit = limit
      this.#blocked.clear()
    } else {
      if (limit === undefined) this.#keyLimits.delete(key)
      else this.#keyLimits.set(key, limit)
      this.#blocked.forget(key)
    }
  }

  async #announceLimit(key: string | undefined, limit: number | undefined): Promise<void> {
    try {
      await this.#bus?.publish(this.#limitsChannel, { key: key ?? null, limit: limit ?? null })
    } catch (error) {
      this.#logger.warn(
        { limiter: this.name, error: errorMessage(error) },
        `redkit: rate limiter '${this.name}' could not tell other instances about a limit change`,
      )
    }
  }

  get #limitsChannel(): string {
    return `ratelimit:${this.name}:limits`
  }

  #listenForLimits(): void {
    if (!this.#bus) return
    this.#limitsSubscription = this.#bus
      .subscribe<{ key?: unknown; limit?: unknown }>(this.#limitsChannel, (payload) => {
        const key = typeof payload?.key === 'string' ? payload.key : undefined
        const limit = payload?.limit
        this.#applyLimit(
          key,
          typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 1 ? limit : undefined,
        )
      })
      .catch((error: unknown) => {
        this.#logger.debug(
          { limiter: this.name, error: errorMessage(error) },
          'redkit: rate limiter could not subscribe to limit changes',
        )
        return undefined
      })
  }

  /** What the compound limiter needs of this limiter. */
  #internals(): LimiterInternals {
    return {
      store: this.#store,
      algorithm: this.options.algorithm,
      ensureLimits: () => (this.#limitsLoaded ? undefined : this.#ensureLimits()),
      limitOf: (key) => this.#limitOf(key),
      storeKey: (key, hashTag) =>
        hashTag === undefined ? this.#keys.tagged(key) : this.#keys.tagged(hashTag, key),
      holdsKey: (key, hashTag) =>
        hashTag === undefined
          ? this.#keys.scope('reservations').tagged(key)
          : this.#keys.scope('reservations').tagged(hashTag, key),
      partSpec: (limit) => [this.options.algorithm, ...this.#settingsFor(limit)],
      known: (key, cost, limit) => this.#known(key, cost, limit),
      result: (key, reply, cost, limit, remember) => this.#result(key, reply, cost, limit, remember),
      counted: (allowed) => {
        if (allowed) this.#metrics.allowed++
        else this.#metrics.rejected++
        this.#metrics.storeCalls++
      },
    }
  }

  /** Tells the other instances to drop a key (or all) from their in-process cache. Best effort: a failure is logged. */
  async #announceUnblock(payload: { key: string } | { all: true }): Promise<void> {
    // Without an in-process cache no instance holds the key: a reward per request (a login limit that
    // counts failures only) must not cost a PUBLISH each.
    if (this.options.blockedCacheSize === 0) return
    try {
      await this.#bus?.publish(this.#unblockChannel, payload)
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
      .subscribe<{ key?: unknown; all?: unknown }>(this.#unblockChannel, (payload) => {
        if (typeof payload?.key === 'string') this.#blocked.forget(payload.key)
        else if (payload?.all === true) this.#blocked.clear()
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

  /**
   * The result of a reply. A rejected consume (`cost` > 0) is remembered, so the key is refused in
   * process until it could pass: a block always, an over-the-limit answer unless rejections count
   * (then each one must reach Redis). Only decisions of Redis, and only once no unblock can be missed.
   */
  #result(
    key: string,
    [allowed, remaining, resetMs, retryMs, blockedMs]: OpReply,
    cost = 0,
    limit = this.options.limit,
    remember = true,
  ): RateLimitResult {
    const now = Date.now()
    if (
      remember &&
      allowed !== 1 &&
      !this.#degraded &&
      (blockedMs > 0 || (cost > 0 && !this.options.countRejected))
    ) {
      if (!this.#listening && this.#bus) this.#listenForUnblocks()
      else if (blockedMs > 0) this.#blocked.remember(key, blockedMs)
      else if (retryMs > 0) this.#blocked.rememberExceeded(key, retryMs, cost, remaining, resetMs)
    }
    return {
      allowed: allowed === 1,
      limit: this.#degraded && this.options.onStoreError === 'insurance' ? this.#insuranceLimit : limit,
      remaining,
      resetAt: now + resetMs,
      retryAfterMs: retryMs,
      blocked: blockedMs > 0,
    }
  }

  async #execute(keys: string[], ops: string[], settings = this.#settings): Promise<ScriptReply> {
    try {
      const reply = await this.#store.runScript(this.#script.name, keys, scriptArgs(settings, ops))
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

function checkCost(cost: number, limit: number): void {
  if (!Number.isSafeInteger(cost) || cost < 1 || cost > limit) {
    throw new InvalidOptionsError(
      `consume cost must be a whole number from 1 to the limit (${limit}), got ${String(cost)}.`,
    )
  }
}

/** The hash field of a runtime limit: `*` for every key, `k:<key>` for one. */
function limitField(key: string | undefined): string {
  return key === undefined ? '*' : `k:${key}`
}

function limitTarget(options: LimitTarget, where: string): string | undefined {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError(`${where} takes an options object, e.g. { key: 'user:42' }.`)
  }
  checkOptionKeys(options, LIMIT_TARGET_KEYS, where)
  if (options.key !== undefined) checkKey(options.key)
  return options.key
}

function checkUnits(units: number, what: string): void {
  if (!Number.isSafeInteger(units) || units < 0) {
    throw new InvalidOptionsError(`${what} takes a whole number of units >= 0, got ${String(units)}.`)
  }
}

/** Which keys `setLimit` / `clearLimit` change. */
export interface LimitTarget {
  /**
   * Only this key (e.g. `user:42`); without it, the limit for every key.
   * @default undefined (every key)
   * @example { key: 'user:42' }
   */
  key?: string
}

const LIMIT_TARGET_KEYS = new Set(['key'])
/** Per-key runtime limits a limiter holds at most: they are all read at startup and kept in process. */
const MAX_KEY_LIMITS = 10_000

/** @internal What {@link CompoundLimiter} uses of a limiter (not part of its public type). */
export interface LimiterInternals {
  store: Store
  algorithm: ResolvedLimiterOptions['algorithm']
  /** A promise while the runtime limits are not read yet. */
  ensureLimits(): Promise<void> | undefined
  limitOf(key: string): number
  storeKey(key: string, hashTag?: string): string
  /** The reservations hash of a key of the two-step compound path (same slot as its counter). */
  holdsKey(key: string, hashTag?: string): string
  /** The SPEC_FIELDS arguments of a compound part (its policy, at this limit). */
  partSpec(limit: number): (string | number)[]
  known(key: string, cost: number, limit: number): RateLimitResult | undefined
  /** The result of a reply; a refusal is remembered in process when `remember`. */
  result(key: string, reply: OpReply, cost: number, limit: number, remember: boolean): RateLimitResult
  counted(allowed: boolean): void
}

const internals = new WeakMap<RateLimiter, LimiterInternals>()

/** @internal The internals of a limiter made by `kit.limiter`. */
export function limiterInternals(limiter: RateLimiter): LimiterInternals | undefined {
  return internals.get(limiter)
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
