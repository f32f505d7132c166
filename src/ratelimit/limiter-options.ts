// The options of a rate limiter and their resolution: tier defaults, durations parsed, every value
// checked once at construction so a bad limit fails when the limiter is created, not on a request.

import { type Duration, parseDuration } from '../config/duration.js'
import { checkOneOf, checkOptionKeys } from '../config/validate.js'
import { InvalidOptionsError } from '../errors.js'
import type { RateLimitAlgorithm } from './algorithms/algorithm.js'
import { type RateLimitTierName, rateLimitTiers } from './tiers.js'

/** Progressive blocking after a key exceeds its limit. */
export interface BlockPolicy {
  /**
   * How long the first block lasts.
   * @example '1m'
   */
  duration: Duration
  /**
   * Each further block while earlier ones are remembered lasts this many times the previous one
   * (`1` blocks for `duration` every time).
   * @default 2
   * @example 3
   */
  multiplier?: number
  /**
   * No block lasts longer than this.
   * @default '1d' (or `duration` when longer)
   * @example '1h'
   */
  max?: Duration
  /**
   * How long after a block ends it still counts towards the next one's length.
   * @default '1d'
   * @example '12h'
   */
  forgetAfter?: Duration
}

/** What a limit is: the algorithm and its numbers. Tiers are made of these. */
export interface RateLimitPolicy {
  /**
   * - `sliding-window`: two counters weighted by overlap; smooth, bounded error (see the docs).
   * - `fixed-window`: one counter per window; cheapest, a burst at a window edge can pass 2× the limit.
   * - `token-bucket`: GCRA; `limit` of burst refilled evenly over `window`.
   * @default 'sliding-window'
   * @example 'token-bucket'
   */
  algorithm?: RateLimitAlgorithm
  /**
   * Units allowed per window (the bucket size for `token-bucket`). Required unless a `tier` gives it.
   * @example 100
   */
  limit?: number
  /**
   * The window (the time to refill the whole bucket for `token-bucket`). Required unless a `tier` gives it.
   * @example '1m'
   */
  window?: Duration
  /**
   * Count rejected requests too, so a client that keeps hammering stays limited (brute-force protection).
   * @default false
   * @example true
   */
  countRejected?: boolean
  /**
   * Block a key that exceeds its limit: a duration (doubling on each repeat up to `max`) or a {@link BlockPolicy}.
   * While blocked every consume is rejected, and this instance answers from memory without a round trip.
   * @default undefined (no block: a key is limited only by the algorithm)
   * @example '1m'
   * @example { duration: '30s', multiplier: 2, max: '1h' }
   */
  blockFor?: Duration | BlockPolicy
}

/** What to do when the store cannot be reached (breaker open, Redis down or timing out). */
export type StoreErrorPolicy = 'insurance' | 'allow' | 'deny'

/** Options of `kit.limiter(name, options)`. */
export interface RateLimiterOptions extends RateLimitPolicy {
  /**
   * A preset whose fields are the defaults; fields given here win.
   * @default undefined
   * @example { tier: 'auth', limit: 5 }
   */
  tier?: RateLimitTierName
  /**
   * When Redis is unavailable:
   * - `insurance`: an in-process limiter with the same algorithm decides (limit divided by `instances`);
   * - `allow`: every request passes (fail open);
   * - `deny`: every request is rejected (fail closed).
   * Each such decision is logged (once per outage) and counted in `kit.metrics().ratelimit`.
   * @default 'insurance'
   * @example 'deny'
   */
  onStoreError?: StoreErrorPolicy
  /**
   * How many instances of the app share the limit: the insurance limiter allows `limit / instances`
   * (rounded up) per process, so together they stay near the limit while Redis is down.
   * @default 1
   * @example 4
   */
  instances?: number
  /**
   * Most keys the in-process blocked cache holds; `0` turns it off (every rejected request then
   * costs a round trip).
   * @default 10000
   * @example 0
   */
  blockedCacheSize?: number
}

/** Options after defaults and validation. */
export interface ResolvedLimiterOptions {
  algorithm: RateLimitAlgorithm
  limit: number
  windowMs: number
  countRejected: boolean
  block: { durationMs: number; multiplier: number; maxMs: number; forgetMs: number } | undefined
  onStoreError: StoreErrorPolicy
  instances: number
  blockedCacheSize: number
}

const ALGORITHMS: readonly RateLimitAlgorithm[] = ['fixed-window', 'sliding-window', 'token-bucket']
const KNOWN = new Set([
  'tier',
  'algorithm',
  'limit',
  'window',
  'countRejected',
  'blockFor',
  'onStoreError',
  'instances',
  'blockedCacheSize',
])
const BLOCK_KNOWN = new Set(['duration', 'multiplier', 'max', 'forgetAfter'])
const STORE_ERROR_POLICIES: readonly StoreErrorPolicy[] = ['insurance', 'allow', 'deny']
const TIERS = Object.keys(rateLimitTiers) as RateLimitTierName[]
const DAY_MS = 86_400_000

/** Applies the tier, the defaults and checks every option. @throws InvalidOptionsError */
export function resolveLimiterOptions(name: string, options: RateLimiterOptions): ResolvedLimiterOptions {
  const where = `limiter '${name}'`
  if (typeof name !== 'string' || name === '') {
    throw new InvalidOptionsError("A limiter needs a non-empty name, e.g. kit.limiter('api', {...}).")
  }
  checkOptionKeys(options, KNOWN, where, { example: "{ limit: 100, window: '1m' }" })
  let base: RateLimitPolicy = {}
  if (options.tier !== undefined) {
    base = rateLimitTiers[checkOneOf(options.tier, TIERS, where, 'tier')]
  }
  const merged: RateLimiterOptions = { ...base }
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value
  }

  const algorithm = checkOneOf(merged.algorithm ?? 'sliding-window', ALGORITHMS, where, 'algorithm')
  const limit = merged.limit
  if (limit === undefined) throw new InvalidOptionsError(`${where}: set limit (units per window) or a tier.`)
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidOptionsError(`${where}: limit must be a whole number >= 1, got ${String(limit)}.`)
  }
  if (merged.window === undefined)
    throw new InvalidOptionsError(`${where}: set window (e.g. '1m') or a tier.`)
  const windowMs = parseDuration(merged.window, `${where}: window`)
  if (windowMs < 1) throw new InvalidOptionsError(`${where}: window must be at least 1 ms.`)
  if (algorithm === 'token-bucket' && windowMs * 1000 < limit) {
    throw new InvalidOptionsError(
      `${where}: a token bucket refills at most one token per microsecond; raise window.`,
    )
  }
  const onStoreError = checkOneOf(
    merged.onStoreError ?? 'insurance',
    STORE_ERROR_POLICIES,
    where,
    'onStoreError',
  )
  const instances = merged.instances ?? 1
  if (!Number.isSafeInteger(instances) || instances < 1) {
    throw new InvalidOptionsError(
      `${where}: instances must be a whole number >= 1, got ${String(instances)}.`,
    )
  }
  const blockedCacheSize = merged.blockedCacheSize ?? 10_000
  if (!Number.isSafeInteger(blockedCacheSize) || blockedCacheSize < 0) {
    throw new InvalidOptionsError(`${where}: blockedCacheSize must be a whole number >= 0.`)
  }
  if (merged.countRejected !== undefined && typeof merged.countRejected !== 'boolean') {
    throw new InvalidOptionsError(`${where}: countRejected must be true or false.`)
  }
  return {
    algorithm,
    limit,
    windowMs,
    countRejected: merged.countRejected ?? false,
    block: resolveBlock(merged.blockFor, where),
    onStoreError,
    instances,
    blockedCacheSize,
  }
}

function resolveBlock(
  value: Duration | BlockPolicy | undefined,
  where: string,
): ResolvedLimiterOptions['block'] {
  if (value === undefined) return undefined
  if (typeof value === 'object' && value !== null) {
    checkOptionKeys(value, BLOCK_KNOWN, where, {
      path: 'blockFor',
      example: "{ duration: '1m', multiplier: 2 }",
    })
  }
  const policy: BlockPolicy = typeof value === 'object' && value !== null ? value : { duration: value }
  const durationMs = parseDuration(policy.duration, `${where}: blockFor.duration`)
  if (durationMs < 1) throw new InvalidOptionsError(`${where}: blockFor must be at least 1 ms.`)
  const multiplier = policy.multiplier ?? 2
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier < 1) {
    throw new InvalidOptionsError(
      `${where}: blockFor.multiplier must be a number >= 1, got ${String(multiplier)}.`,
    )
  }
  const maxMs = Math.max(
    durationMs,
    policy.max === undefined ? DAY_MS : parseDuration(policy.max, `${where}: blockFor.max`),
  )
  const forgetMs =
    policy.forgetAfter === undefined
      ? DAY_MS
      : parseDuration(policy.forgetAfter, `${where}: blockFor.forgetAfter`)
  return { durationMs, multiplier, maxMs, forgetMs }
}
