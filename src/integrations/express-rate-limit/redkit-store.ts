// An express-rate-limit Store on redkit: hits counted in a fixed window opened by a client's first hit,
// exactly as express-rate-limit's MemoryStore counts, but shared by every instance through the kit's store.

import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit'
import { checkOneOf, checkOptionKeys, describeValue } from '../../config/validate.js'
import { InvalidOptionsError } from '../../errors.js'
import {
  type AdapterStoreErrorPolicy,
  type CounterReading,
  WindowCounter,
} from '../../ratelimit/adapters/window-counter.js'
import type { Redkit } from '../../redkit.js'

/** Options of {@link RedkitStore}. */
export interface RedkitStoreOptions {
  /**
   * The redkit instance whose store keeps the counts (Redis, Cluster, Sentinel, or the embedded store).
   * @example createRedkit({ url: process.env.REDIS_URL })
   */
  kit: Redkit
  /**
   * Names the counts: the kit's limiter of this name holds them, under
   * `<app prefix>ratelimit:<prefix>:{<key>}`. Give each `rateLimit()` its own prefix; two apps (or
   * instances) whose stores have the same prefix and `windowMs` share their counts, which is the point.
   * @default 'erl'
   * @example 'api'
   */
  prefix?: string
  /**
   * When Redis cannot be reached:
   * - `insurance`: an in-process counter takes over, so limits still hold per instance (with `instances`,
   *   each instance counts for its share of the limit);
   * - `throw`: `increment` rejects with `RedisUnavailableError`, and express-rate-limit's `passOnStoreError`
   *   decides (fail the request, or let it through).
   * @default 'insurance'
   * @example 'throw'
   */
  onStoreError?: AdapterStoreErrorPolicy
  /**
   * How many app instances share the limit. While Redis is down (`onStoreError: 'insurance'`) each
   * instance's hits count `instances` times, so each allows about `limit / instances`.
   * @default 1
   * @example 4
   */
  instances?: number
}

const KNOWN = new Set(['kit', 'prefix', 'onStoreError', 'instances'])
/** Options of other stores (rate-limit-redis) that are refused, and what to do instead. */
const REFUSED: Readonly<Record<string, string>> = {
  sendCommand: "has no meaning here: the store uses the kit's own connection; remove it.",
  client: "has no meaning here: the store uses the kit's own connection; remove it.",
  resetExpiryOnChange:
    "is not supported: a window always ends windowMs after a client's first hit, as in MemoryStore; remove it.",
}
const POLICIES: readonly AdapterStoreErrorPolicy[] = ['insurance', 'throw']
const RESET_BATCH = 1000

/**
 * An express-rate-limit 8 `Store` that keeps the hit counts in redkit: pass one per `rateLimit()`
 * (`store: new RedkitStore({ kit, prefix })`). Counting is one atomic script per hit (hits of one
 * event-loop turn share one script call), in a fixed window opened by the client's first hit and lasting
 * `windowMs`, like express-rate-limit's MemoryStore; so status codes, headers and `req.rateLimit` are the
 * ones the MemoryStore gives, and every instance sees the same counts.
 *
 * @example
 * import { rateLimit } from 'express-rate-limit'
 * import { createRedkit } from 'redkit'
 * import { RedkitStore } from 'redkit/express-rate-limit'
 *
 * const kit = createRedkit({ url: process.env.REDIS_URL, app: 'shop' })
 * app.use(rateLimit({ windowMs: 60_000, limit: 100, standardHeaders: 'draft-8', store: new RedkitStore({ kit, prefix: 'api' }) }))
 */
export class RedkitStore implements Store {
  /** The prefix: names the kit's limiter that holds the counts; express-rate-limit's double-count check reads it. */
  readonly prefix: string
  /** Counts are shared with every store of the same prefix and window, in every process. */
  readonly localKeys = false as const
  /** The window express-rate-limit passed to `init`. */
  windowMs: number | undefined
  readonly #kit: Redkit
  readonly #onStoreError: AdapterStoreErrorPolicy
  readonly #instances: number
  #counter: WindowCounter | undefined
  #initError: Error | undefined

  /** @throws InvalidOptionsError for an unknown or bad option */
  constructor(options: RedkitStoreOptions) {
    const where = 'RedkitStore'
    if (typeof options === 'object' && options !== null) {
      for (const [name, why] of Object.entries(REFUSED)) {
        if ((options as unknown as Record<string, unknown>)[name] !== undefined) {
          throw new InvalidOptionsError(`${where}: option '${name}' ${why}`)
        }
      }
    }
    checkOptionKeys(options, KNOWN, where, { example: "{ kit, prefix: 'api' }" })
    const { kit } = options
    if (typeof kit !== 'object' || kit === null || typeof kit.limiter !== 'function') {
      throw new InvalidOptionsError(
        `${where}: set kit to a redkit instance, e.g. new RedkitStore({ kit: createRedkit() }).`,
      )
    }
    const prefix = options.prefix ?? 'erl'
    if (typeof prefix !== 'string' || prefix === '') {
      throw new InvalidOptionsError(
        `${where}: prefix must be a non-empty string, got ${describeValue(prefix)}.`,
      )
    }
    const instances = options.instances ?? 1
    if (!Number.isSafeInteger(instances) || instances < 1) {
      throw new InvalidOptionsError(
        `${where}: instances must be a whole number >= 1, got ${describeValue(instances)}.`,
      )
    }
    this.#kit = kit
    this.prefix = prefix
    this.#onStoreError = checkOneOf(options.onStoreError ?? 'insurance', POLICIES, where, 'onStoreError')
    this.#instances = instances
  }

  /**
   * Called by express-rate-limit with its options: creates the kit's limiter `prefix` for `windowMs`.
   * @throws InvalidOptionsError for a bad `windowMs`, or a prefix already counting with another window
   * (express-rate-limit logs it; `increment` then rejects with it)
   * @example store.init({ windowMs: 60_000 }) // only when using the store without rateLimit()
   */
  init(options: Pick<Options, 'windowMs'>): void {
    this.#initError = undefined
    try {
      const windowMs = options.windowMs
      if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs < 1) {
        throw new InvalidOptionsError(
          `RedkitStore '${this.prefix}': windowMs must be a number of milliseconds >= 1, got ${describeValue(windowMs)}.`,
        )
      }
      try {
        this.#counter = new WindowCounter(this.#kit, this.prefix, {
          windowMs,
          onStoreError: this.#onStoreError,
          instances: this.#instances,
          blockedCacheSize: 0,
        })
      } catch (error) {
        if (!(error instanceof InvalidOptionsError)) throw error
        throw new InvalidOptionsError(
          `RedkitStore '${this.prefix}': this prefix already counts with another windowMs or store option (${error.message}); give this store another prefix.`,
        )
      }
      this.windowMs = windowMs
    } catch (error) {
      this.#initError = error as Error
      throw error
    }
  }

  /**
   * Counts a hit for `key`: `totalHits` in the current window, and when it ends.
   * @example await store.increment('203.0.113.7') // { totalHits: 1, resetTime: Date }
   */
  async increment(key: string): Promise<IncrementResponse> {
    return this.#info(await this.#ready().add(key, 1))
  }

  /**
   * Takes one hit back (`skipSuccessfulRequests`, `skipFailedRequests`); never below zero.
   * @example await store.decrement('203.0.113.7')
   */
  async decrement(key: string): Promise<void> {
    await this.#ready().reward(key, 1)
  }

  /**
   * Forgets `key`'s hits, for every instance (what `limiter.resetKey(key)` calls).
   * @example await limiter.resetKey(req.ip)
   */
  async resetKey(key: string): Promise<void> {
    await this.#ready().reset(key)
  }

  /**
   * `key`'s hits and reset time, or `undefined` when it has none in the current window (what
   * `limiter.getKey(key)` calls).
   * @example const info = await limiter.getKey(req.ip) // { totalHits: 3, resetTime: Date } | undefined
   */
  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const reading = await this.#ready().read(key)
    return reading.count === 0 ? undefined : this.#info(reading)
  }

  /**
   * Forgets every key of this prefix. It walks the whole keyspace with SCAN (on every master, never KEYS)
   * and deletes in batches, so it costs time in proportion to the database size: for admin use, not per
   * request.
   * @example await store.resetAll()
   */
  async resetAll(): Promise<void> {
    this.#ready()
    // The client keys of the kit's limiter `prefix`: `{<key>}` in the scope its limiter builds them under.
    const match = this.#kit.keys.scope('ratelimit', this.prefix).pattern([], '{*')
    const store = this.#kit.store
    for await (const keys of store.scan({ match, count: RESET_BATCH })) {
      for (let at = 0; at < keys.length; at += RESET_BATCH) {
        await store.del(keys.slice(at, at + RESET_BATCH))
      }
    }
  }

  #ready(): WindowCounter {
    if (this.#initError) throw this.#initError
    if (!this.#counter) {
      throw new InvalidOptionsError(
        `RedkitStore '${this.prefix}' was not initialised: pass it to rateLimit({ store }), which calls init(), or call init({ windowMs }) first.`,
      )
    }
    return this.#counter
  }

  #info(reading: CounterReading): ClientRateLimitInfo {
    const totalHits = reading.insured ? reading.count * this.#instances : reading.count
    return { totalHits, resetTime: new Date(reading.resetAt) }
  }
}
