// A redkit fixed-window limiter used as a plain hit counter: its limit is so high that nothing is refused
// for count, so the adapters read the exact count back and apply another library's rules to it.

import { RedisUnavailableError } from '../../errors.js'
import type { Redkit } from '../../redkit.js'
import type { RateLimiter, RateLimitResult } from '../limiter.js'

/**
 * The limit of a counting limiter. Counts are exact doubles far below it, so `limit - remaining` is the
 * count itself, however far past another library's own limit a key goes.
 */
export const COUNTER_LIMIT = Number.MAX_SAFE_INTEGER

/** What an adapter does when Redis cannot be reached. */
export type AdapterStoreErrorPolicy = 'insurance' | 'throw'

/** How a {@link WindowCounter} is made. */
export interface WindowCounterOptions {
  windowMs: number
  onStoreError: AdapterStoreErrorPolicy
  instances: number
  /** Keys the limiter's blocked cache holds; `0` when the adapter never blocks. */
  blockedCacheSize: number
}

/** A key's count as the store (or, while Redis is down, the insurance limiter) reports it. */
export interface CounterReading {
  /** Units counted in the key's current window; `0` while it is blocked (a block keeps no count). */
  count: number
  /** Milliseconds until the window ends, or until the block ends when `blocked`. */
  msLeft: number
  /** Epoch ms the window (or block) ends. */
  resetAt: number
  blocked: boolean
  /**
   * Decided by the in-process insurance limiter, Redis being unreachable. Seen only with `instances` > 1
   * (the insurance limit then differs from {@link COUNTER_LIMIT}), the one case where it changes anything.
   */
  insured: boolean
}

/** The hit counter of one adapter instance, over the kit's limiter `name`. */
export class WindowCounter {
  readonly limiter: RateLimiter
  readonly #name: string

  /** @throws InvalidOptionsError when `name` is taken by a limiter with other options */
  constructor(kit: Redkit, name: string, options: WindowCounterOptions) {
    this.#name = name
    this.limiter = kit.limiter(name, {
      algorithm: 'fixed-window',
      limit: COUNTER_LIMIT,
      window: options.windowMs,
      // A counter never refuses, so 'deny' only answers when the store failed: read() turns it into an error.
      onStoreError: options.onStoreError === 'insurance' ? 'insurance' : 'deny',
      instances: options.instances,
      blockedCacheSize: options.blockedCacheSize,
    })
  }

  /** Counts `units` more hits and reads the count back. @throws RedisUnavailableError (policy `throw`) */
  async add(key: string, units: number): Promise<CounterReading> {
    return this.#reading(await this.limiter.consume(key, units))
  }

  /** The count without adding to it. @throws RedisUnavailableError (policy `throw`) */
  async read(key: string): Promise<CounterReading> {
    return this.#reading(await this.limiter.peek(key))
  }

  /** Adds `units` without a decision (never decided by the insurance limiter). */
  async penalty(key: string, units: number): Promise<CounterReading> {
    return this.#reading(await this.limiter.penalty(key, units))
  }

  /** Takes `units` back, never below zero. */
  async reward(key: string, units: number): Promise<CounterReading> {
    return this.#reading(await this.limiter.reward(key, units))
  }

  reset(key: string): Promise<void> {
    return this.limiter.reset(key)
  }

  /**
   * Blocks `key` for `ms` and empties its count, so the key starts afresh once the block ends, as a
   * key whose stored count expires with its block. The block goes first: no request slips in between.
   */
  async blockAfresh(key: string, ms: number): Promise<void> {
    await this.limiter.block(key, ms)
    await this.limiter.reward(key, COUNTER_LIMIT)
  }

  #reading(result: RateLimitResult): CounterReading {
    if (!result.allowed && !result.blocked) {
      throw new RedisUnavailableError(
        `Redis is unavailable: rate limiter '${this.#name}' could not count the request (onStoreError: 'throw'). Use onStoreError: 'insurance' to count in process meanwhile.`,
      )
    }
    const msLeft = result.blocked ? result.retryAfterMs : Math.max(0, result.resetAt - Date.now())
    return {
      count: result.blocked ? 0 : result.limit - result.remaining,
      msLeft,
      resetAt: result.resetAt,
      blocked: result.blocked,
      insured: result.limit !== COUNTER_LIMIT,
    }
  }
}
