// rate-limiter-flexible's API (points, duration, blockDuration; RateLimiterRes results and rejections)
// over a redkit limiter, so code written for RateLimiterRedis or RateLimiterMemory runs unchanged on a kit.

import { checkOneOf, checkOptionKeys, describeValue } from '../../config/validate.js'
import { InvalidOptionsError, RedisUnavailableError } from '../../errors.js'
import type { Redkit } from '../../redkit.js'
import { BlockedCache } from '../blocked-cache.js'
import { RateLimiterRes } from './rate-limiter-res.js'
import { type AdapterStoreErrorPolicy, type CounterReading, WindowCounter } from './window-counter.js'

/** Options of {@link RateLimiterRedkit}: rate-limiter-flexible's names and units (seconds), plus the kit. */
export interface RateLimiterRedkitOptions {
  /**
   * The redkit instance whose store (Redis, Cluster, Sentinel or the embedded one) keeps the counts; it
   * replaces rate-limiter-flexible's `storeClient`.
   * @example createRedkit({ url: process.env.REDIS_URL })
   */
  kit: Redkit
  /**
   * Points a key may consume per `duration`: a whole number, `0` refuses every consume.
   * @example 10
   */
  points: number
  /**
   * The window in seconds, opened by a key's first consume (fractions allowed, e.g. `0.5`). rate-limiter-flexible's
   * `0` ("never expires") is refused.
   * @example 60
   */
  duration: number
  /**
   * Seconds a key is blocked once it consumes more than `points` (or reaches `blockOnConsumed`); `0` blocks
   * nothing. While blocked, this instance rejects the key from memory, without a round trip.
   * @default 0
   * @example 300
   */
  blockDuration?: number
  /**
   * Names the limiter, and so its keys: `<app prefix>ratelimit:<keyPrefix>:{<key>}`. Two limiters with the
   * same `keyPrefix` and `duration` share their counts, on every instance.
   * @default 'rlflx'
   * @example 'login'
   */
  keyPrefix?: string
  /**
   * The consumed points at which `blockDuration` starts, when that should be later than the first consume
   * over `points`; `0` blocks at `points + 1`. Must be at least `points`.
   * @default 0
   * @example 20
   */
  blockOnConsumed?: number
  /**
   * From this many consumed points, the key is also blocked in this process's memory (for
   * `inMemoryBlockDuration`, or until the window ends): later consumes are rejected without a round trip.
   * Must be at least `points`; `0` turns it off.
   * @default 0
   * @example 10
   */
  inMemoryBlockOnConsumed?: number
  /**
   * Seconds of the in-memory block set by `inMemoryBlockOnConsumed`; `0` blocks until the window ends.
   * @default 0
   * @example 30
   */
  inMemoryBlockDuration?: number
  /**
   * Only `false` is accepted: spreading allowed calls over the duration is not supported.
   * @default false
   * @example false
   */
  execEvenly?: false
  /**
   * When Redis cannot be reached:
   * - `throw`: calls reject with a `RedisUnavailableError` (an `Error`, not a `RateLimiterRes`), as
   *   rate-limiter-flexible rejects with its client's error;
   * - `insurance`: an in-process limiter counts meanwhile, with `points` divided by `instances` (what an
   *   `insuranceLimiter` did). `penalty`, `reward`, `block` and `delete` still reject.
   * @default 'throw'
   * @example 'insurance'
   */
  onStoreError?: AdapterStoreErrorPolicy
  /**
   * How many app instances share the limit: with `onStoreError: 'insurance'`, each allows
   * `ceil(points / instances)` while Redis is down.
   * @default 1
   * @example 4
   */
  instances?: number
}

const KNOWN = new Set([
  'kit',
  'points',
  'duration',
  'blockDuration',
  'keyPrefix',
  'blockOnConsumed',
  'inMemoryBlockOnConsumed',
  'inMemoryBlockDuration',
  'execEvenly',
  'onStoreError',
  'instances',
])

const OWN_CONNECTION =
  'has no meaning here: redkit talks to Redis over its own connection; pass `kit` (createRedkit({ url })) and remove it.'

/** rate-limiter-flexible options that are refused, and what to do instead. */
const REFUSED: Readonly<Record<string, string>> = {
  storeClient: OWN_CONNECTION,
  storeType: OWN_CONNECTION,
  useRedisPackage: OWN_CONNECTION,
  useRedis3AndLowerPackage: OWN_CONNECTION,
  rejectIfRedisNotReady: `${OWN_CONNECTION} Redis being down is handled by onStoreError.`,
  customIncrTtlLuaScript: 'is not supported: redkit runs its own counting script; remove it.',
  insuranceLimiter:
    "is replaced by onStoreError: 'insurance' (an in-process limiter with the same rules decides while Redis is down; set `instances` to share the points out).",
  execEvenlyMinDelayMs:
    "is not supported (nor execEvenly); for evenly spread traffic use kit.limiter(name, { algorithm: 'token-bucket', ... }).",
}

const POLICIES: readonly AdapterStoreErrorPolicy[] = ['throw', 'insurance']
const MEMORY_BLOCKS_MAX = 10_000

/**
 * A rate limiter with rate-limiter-flexible's API over redkit: the same options (`points`, `duration` in
 * seconds, `blockDuration`...) and the same results — `consume` resolves with a {@link RateLimiterRes}
 * while the key is within its points and rejects with one when it is over them; a store failure rejects
 * with an `Error`. Counts live in the kit's store (Redis, or the embedded store in memory mode), one
 * atomic script per decision, and the consumes of one event-loop turn share one script call.
 *
 * Where it differs from rate-limiter-flexible: counts never go below zero (`reward` on an empty key
 * gives nothing extra); a blocked key keeps no count, so `consumedPoints` reads `points + 1` (or
 * `blockOnConsumed`) while it is blocked; `reward` does not lift a block (`delete` does); `block(key, 0)`
 * (forever), `duration: 0`, `execEvenly`, per-call options and `set()` are not supported. See
 * docs/migrating/rate-limiter-flexible.md.
 *
 * @example
 * import { createRedkit, RateLimiterRedkit } from 'redkit'
 * const kit = createRedkit({ url: process.env.REDIS_URL })
 * const limiter = new RateLimiterRedkit({ kit, keyPrefix: 'login', points: 5, duration: 60, blockDuration: 300 })
 * try {
 *   const res = await limiter.consume(req.ip)
 *   res.remainingPoints // 4
 * } catch (rejection) {
 *   if (rejection instanceof Error) throw rejection // Redis down (onStoreError: 'throw')
 *   res.set('Retry-After', String(Math.ceil(rejection.msBeforeNext / 1000))).sendStatus(429)
 * }
 */
export class RateLimiterRedkit {
  /** Points per duration. */
  readonly points: number
  /** The window in seconds. */
  readonly duration: number
  /** Seconds a key is blocked after going over its points; `0` when off. */
  readonly blockDuration: number
  /** The limiter's name in the kit, part of every key. */
  readonly keyPrefix: string
  /** The consumed points at which a block starts; `0` means `points + 1`. */
  readonly blockOnConsumed: number
  /** Consumed points from which this process blocks a key in memory; `0` when off. */
  readonly inMemoryBlockOnConsumed: number
  /** Seconds of such an in-memory block; `0` means until the window ends. */
  readonly inMemoryBlockDuration: number
  /** Always `false`. */
  readonly execEvenly = false
  readonly #counter: WindowCounter
  readonly #memoryBlocks = new BlockedCache(MEMORY_BLOCKS_MAX)
  readonly #onStoreError: AdapterStoreErrorPolicy
  readonly #instances: number

  /** @throws InvalidOptionsError for a refused, unknown or bad option (naming it), or a taken keyPrefix */
  constructor(options: RateLimiterRedkitOptions) {
    const where = 'RateLimiterRedkit'
    if (typeof options === 'object' && options !== null) {
      for (const [name, why] of Object.entries(REFUSED)) {
        if ((options as unknown as Record<string, unknown>)[name] !== undefined) {
          throw new InvalidOptionsError(`${where}: option '${name}' ${why}`)
        }
      }
    }
    checkOptionKeys(options, KNOWN, where, { example: '{ kit, points: 10, duration: 60 }' })
    const { kit } = options
    if (typeof kit !== 'object' || kit === null || typeof kit.limiter !== 'function') {
      throw new InvalidOptionsError(
        `${where}: set kit to a redkit instance, e.g. { kit: createRedkit(), points: 10, duration: 60 }.`,
      )
    }
    if (options.execEvenly !== undefined && options.execEvenly !== false) {
      throw new InvalidOptionsError(
        `${where}: option 'execEvenly' is not supported (calls are decided at once, never delayed); remove it, or use kit.limiter(name, { algorithm: 'token-bucket', ... }) for evenly spread traffic.`,
      )
    }
    this.points = wholeNumber(options.points, `${where}: points`, 'required')
    this.duration = seconds(options.duration, `${where}: duration`)
    this.blockDuration = optionalSeconds(options.blockDuration, `${where}: blockDuration`)
    this.blockOnConsumed = wholeNumber(options.blockOnConsumed, `${where}: blockOnConsumed`)
    this.inMemoryBlockOnConsumed = wholeNumber(
      options.inMemoryBlockOnConsumed,
      `${where}: inMemoryBlockOnConsumed`,
    )
    this.inMemoryBlockDuration = optionalSeconds(
      options.inMemoryBlockDuration,
      `${where}: inMemoryBlockDuration`,
    )
    for (const name of ['blockOnConsumed', 'inMemoryBlockOnConsumed'] as const) {
      if (this[name] > 0 && this[name] < this.points) {
        throw new InvalidOptionsError(
          `${where}: ${name} must be 0 or at least points (${this.points}), got ${this[name]}.`,
        )
      }
    }
    if (this.inMemoryBlockDuration > 0 && this.inMemoryBlockOnConsumed === 0) {
      throw new InvalidOptionsError(
        `${where}: inMemoryBlockDuration needs inMemoryBlockOnConsumed (the points from which to block).`,
      )
    }
    const keyPrefix = options.keyPrefix ?? 'rlflx'
    if (typeof keyPrefix !== 'string' || keyPrefix === '') {
      throw new InvalidOptionsError(
        `${where}: keyPrefix must be a non-empty string (it names the limiter), got ${describeValue(keyPrefix)}.`,
      )
    }
    this.keyPrefix = keyPrefix
    this.#onStoreError = checkOneOf(options.onStoreError ?? 'throw', POLICIES, where, 'onStoreError')
    this.#instances = wholeNumber(options.instances ?? 1, `${where}: instances`)
    if (this.#instances < 1) throw new InvalidOptionsError(`${where}: instances must be a whole number >= 1.`)
    try {
      this.#counter = new WindowCounter(kit, keyPrefix, {
        windowMs: Math.round(this.duration * 1000),
        onStoreError: this.#onStoreError,
        instances: this.#instances,
        blockedCacheSize: 10_000,
      })
    } catch (error) {
      if (!(error instanceof InvalidOptionsError)) throw error
      throw new InvalidOptionsError(
        `${where}: keyPrefix '${keyPrefix}' is already a limiter of this kit with another duration or onStoreError (${error.message}); give this one another keyPrefix.`,
      )
    }
  }

  /** The window in milliseconds. */
  get msDuration(): number {
    return Math.round(this.duration * 1000)
  }

  /** The block in milliseconds. */
  get msBlockDuration(): number {
    return Math.round(this.blockDuration * 1000)
  }

  /**
   * Consumes `points` for `key`. Resolves with a {@link RateLimiterRes} while the key's consumed points
   * stay within `points`; rejects with one when they go over (`msBeforeNext`: until the window or block
   * ends), and with an `Error` when the store fails (`onStoreError: 'throw'`) or an argument is bad.
   * Consumes over the limit count too, as in rate-limiter-flexible.
   * @param key who is limited (`req.ip`, a user id...)
   * @param points a whole number >= 1. @default 1
   * @example const res = await limiter.consume(`user:${userId}`, 2)
   */
  async consume(
    key: string | number,
    points = 1,
    options?: Readonly<Record<string, never>>,
  ): Promise<RateLimiterRes> {
    refuseCallOptions(options, 'consume')
    const id = keyOf(key)
    checkCallPoints(points, 'consume', 1)
    const until = this.#memoryBlocks.blockedUntil(id)
    if (until !== undefined) throw new RateLimiterRes(0, until - Date.now())
    const reading = await this.#counter.add(id, points)
    return this.#afterConsume(id, points, reading)
  }

  /**
   * Adds `points` to `key` without a decision (never rejects with a `RateLimiterRes`), e.g. after a failed
   * login. Resolves with the key's state afterwards.
   * @param points a whole number >= 0. @default 1
   * @example await limiter.penalty(req.ip, 3)
   */
  async penalty(
    key: string | number,
    points = 1,
    options?: Readonly<Record<string, never>>,
  ): Promise<RateLimiterRes> {
    refuseCallOptions(options, 'penalty')
    checkCallPoints(points, 'penalty', 0)
    return this.#state(await this.#counter.penalty(keyOf(key), points), points)
  }

  /**
   * Gives `points` back to `key` (never below zero), e.g. after a successful login. Does not lift a block:
   * `delete(key)` does.
   * @param points a whole number >= 0. @default 1
   * @example await limiter.reward(req.ip, 1)
   */
  async reward(
    key: string | number,
    points = 1,
    options?: Readonly<Record<string, never>>,
  ): Promise<RateLimiterRes> {
    refuseCallOptions(options, 'reward')
    checkCallPoints(points, 'reward', 0)
    return this.#state(await this.#counter.reward(keyOf(key), points), -points)
  }

  /**
   * Blocks `key` for `secDuration` seconds from now, replacing its count; it starts afresh when the block
   * ends. Every instance rejects it meanwhile. Resolves with `{ remainingPoints: 0, msBeforeNext, consumedPoints: points + 1 }`.
   * @param secDuration seconds, more than 0 (rate-limiter-flexible's `0`, forever, is refused)
   * @example await limiter.block(req.ip, 15 * 60)
   */
  async block(
    key: string | number,
    secDuration: number,
    options?: Readonly<Record<string, never>>,
  ): Promise<RateLimiterRes> {
    refuseCallOptions(options, 'block')
    const id = keyOf(key)
    if (typeof secDuration !== 'number' || !Number.isFinite(secDuration) || secDuration <= 0) {
      throw new InvalidOptionsError(
        `block(key, secDuration) takes seconds > 0, got ${describeValue(secDuration)} (blocking forever is not supported; use delete(key) to lift a block).`,
      )
    }
    const ms = Math.round(secDuration * 1000)
    await this.#counter.blockAfresh(id, ms)
    return new RateLimiterRes(0, ms, this.#blockedPoints)
  }

  /**
   * The key's state without consuming, or `null` when it has consumed nothing in the current window.
   * @example const res = await limiter.get(req.ip) // RateLimiterRes | null
   */
  async get(key: string | number): Promise<RateLimiterRes | null> {
    const reading = await this.#counter.read(keyOf(key))
    if (!reading.blocked && reading.count === 0) return null
    return this.#state(reading, 0)
  }

  /**
   * Forgets `key` everywhere: its count and its block (on every instance), and this process's in-memory
   * block. Resolves `true` when there was something to forget.
   * @example await limiter.delete(req.ip)
   */
  async delete(key: string | number): Promise<boolean> {
    const id = keyOf(key)
    const reading = await this.#counter.read(id)
    await this.#counter.reset(id)
    const inMemory = this.#memoryBlocks.blockedUntil(id) !== undefined
    this.#memoryBlocks.forget(id)
    return reading.blocked || reading.count > 0 || inMemory
  }

  /**
   * Lifts every in-memory block of this process (set by `inMemoryBlockOnConsumed`).
   * @example limiter.deleteInMemoryBlockedAll()
   */
  deleteInMemoryBlockedAll(): void {
    this.#memoryBlocks.clear()
  }

  /** The count reported while a key is blocked (a block keeps none): what rate-limiter-flexible stores. */
  get #blockedPoints(): number {
    return this.blockOnConsumed > this.points ? this.blockOnConsumed : this.points + 1
  }

  /** `points`, or each instance's share of it while the insurance limiter decides. */
  #pointsFor(reading: CounterReading): number {
    return reading.insured ? Math.ceil(this.points / this.#instances) : this.points
  }

  #state(reading: CounterReading, changed: number): RateLimiterRes {
    if (reading.blocked) return new RateLimiterRes(0, reading.msLeft, this.#blockedPoints)
    const consumed = reading.count
    return new RateLimiterRes(
      Math.max(this.#pointsFor(reading) - consumed, 0),
      reading.msLeft,
      consumed,
      consumed === changed,
    )
  }

  /** rate-limiter-flexible's decision after a consume (RateLimiterStoreAbstract._afterConsume), on the count read back. */
  async #afterConsume(id: string, changed: number, reading: CounterReading): Promise<RateLimiterRes> {
    const res = this.#state(reading, changed)
    const consumed = res.consumedPoints
    const limit = this.#pointsFor(reading)
    const withMs = (ms: number): RateLimiterRes =>
      new RateLimiterRes(res.remainingPoints, ms, consumed, res.isFirstInDuration)
    if (
      this.inMemoryBlockOnConsumed > 0 &&
      this.inMemoryBlockDuration === 0 &&
      consumed >= this.inMemoryBlockOnConsumed
    ) {
      this.#memoryBlocks.remember(id, res.msBeforeNext)
      if (consumed > limit) throw res
      return res
    }
    if (consumed <= limit) return res
    let ms = res.msBeforeNext
    if (!reading.blocked && this.blockDuration > 0 && this.#crossedBlockThreshold(consumed, changed, limit)) {
      ms = this.msBlockDuration
      await this.#block(id, ms)
    }
    if (this.inMemoryBlockOnConsumed > 0 && consumed >= this.inMemoryBlockOnConsumed) {
      ms = this.inMemoryBlockDuration * 1000
      this.#memoryBlocks.remember(id, ms)
    }
    throw withMs(ms)
  }

  /** Whether this consume is the one that crossed the block threshold (only one consume per window is). */
  #crossedBlockThreshold(consumed: number, changed: number, limit: number): boolean {
    if (!(this.blockOnConsumed > this.points)) return consumed > limit && consumed <= limit + changed
    return consumed >= this.blockOnConsumed && consumed - changed < this.blockOnConsumed
  }

  async #block(id: string, ms: number): Promise<void> {
    try {
      await this.#counter.blockAfresh(id, ms)
    } catch (error) {
      // The insurance limiter decided this consume: keep the block in this process instead.
      if (!(error instanceof RedisUnavailableError) || this.#onStoreError !== 'insurance') throw error
      this.#memoryBlocks.remember(id, ms)
    }
  }
}

function keyOf(key: string | number): string {
  if (typeof key === 'number' && Number.isFinite(key)) return String(key)
  if (typeof key !== 'string' || key === '') {
    throw new InvalidOptionsError(
      `A rate-limit key must be a non-empty string or a number, got ${describeValue(key)}.`,
    )
  }
  return key
}

function refuseCallOptions(options: Readonly<Record<string, unknown>> | undefined, method: string): void {
  if (options === undefined || options === null) return
  const names = typeof options === 'object' ? Object.keys(options) : []
  if (typeof options !== 'object' || names.length > 0) {
    throw new InvalidOptionsError(
      `${method}() takes no per-call options${names.length > 0 ? ` (got ${names.join(', ')})` : ''}: customDuration is not supported; create another limiter with that duration and its own keyPrefix.`,
    )
  }
}

function checkCallPoints(points: unknown, method: string, min: number): asserts points is number {
  if (typeof points !== 'number' || !Number.isSafeInteger(points) || points < min) {
    throw new InvalidOptionsError(
      `${method}() takes a whole number of points >= ${min}, got ${describeValue(points)}.`,
    )
  }
}

function wholeNumber(value: unknown, name: string, required?: 'required'): number {
  if (value === undefined && required === undefined) return 0
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionsError(`${name} must be a whole number >= 0, got ${describeValue(value)}.`)
  }
  return value
}

function seconds(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0.001) {
    throw new InvalidOptionsError(
      `${name} must be a number of seconds of at least 0.001, got ${describeValue(value)}${value === 0 ? ' (windows that never expire are not supported)' : ''}.`,
    )
  }
  return value
}

function optionalSeconds(value: unknown, name: string): number {
  if (value === undefined || value === 0) return 0
  return seconds(value, name)
}
