// Options of kit.cache(namespace, options) and their resolution, once per cache, into a typed object
// the hot path reads without re-parsing durations or re-checking defaults.

import { type Duration, parseDuration } from '../config/duration.js'
import { checkOneOf, checkOptionKeys, describeValue } from '../config/validate.js'
import { InvalidOptionsError } from '../errors.js'
import type { CompressionAlgorithm } from './compression.js'
import { type CacheSerializer, JsonSerializer } from './json-serializer.js'
import { type CacheTierName, cacheTiers } from './tiers.js'

/** Options of `kit.cache(namespace, options)`. */
export interface CacheOptions {
  /**
   * How long an entry stays fresh. `0` stores entries without expiry.
   * @default '1h'
   * @example kit.cache('products', { ttl: '10m' })
   */
  ttl?: Duration
  /**
   * Turns values into text or bytes. The default is JSON with Date/BigInt support and
   * prototype-pollution protection.
   * @default JsonSerializer
   */
  serializer?: CacheSerializer
  /**
   * Compression of payloads larger than `compressThreshold`; `false` turns it off.
   * @default 'gzip'
   */
  compression?: CompressionAlgorithm | false
  /**
   * Serialized size in bytes above which payloads are compressed.
   * @default 1024
   */
  compressThreshold?: number
  /**
   * Serialized size in bytes above which a value is refused (`CacheValueTooLargeError`) and not stored.
   * @default 4194304 (4 MiB)
   */
  maxSize?: number
  /**
   * Cache `undefined` returned by a getOrSet factory (so the factory is not called again until expiry).
   * `null` is always cached like any value.
   * @default false
   */
  cacheNullish?: boolean
  /**
   * Throw `RedisUnavailableError` from reads and writes when Redis is unavailable, instead of
   * degrading (reads as misses, writes skipped and counted).
   * @default false
   */
  strict?: boolean
  /**
   * The in-process tier in front of Redis: reads that hit it make no round trip. Kept in sync across
   * instances by the bus; flushed when bus messages may have been missed. `false` turns it off.
   * @default false
   * @example kit.cache('zones', { ttl: '24h', l1: { max: 5_000, ttl: '1m' } })
   */
  l1?: false | L1Options
  /**
   * Stale-while-revalidate: for this long after an entry stops being fresh, getOrSet returns the stale
   * value at once and refreshes it in the background (one refresh per key per process).
   * @default 0 (off)
   */
  swr?: Duration
  /**
   * Fail-safe: when the factory throws, times out or Redis is unavailable, serve the last value up to
   * this long past its expiry instead of failing. Entries are kept physically for that long.
   * @default 0 (off)
   */
  grace?: Duration
  /**
   * When a stale (or grace) value exists and the factory takes longer than this, return the stale value
   * and let the factory finish in the background to update the cache.
   * @default none
   */
  softTimeout?: Duration
  /**
   * Abort the factory (its AbortSignal fires) after this long: getOrSet then serves a stale value if one
   * exists, else rejects with `CacheFactoryTimeoutError`.
   * @default none
   */
  hardTimeout?: Duration
  /**
   * A hit in the last part of the fresh period refreshes the entry in the background, so hot keys never
   * expire under load: `0.8` refreshes hits after 80 % of the ttl. Needs getOrSet (a factory).
   * @default none
   */
  eagerRefresh?: number
  /**
   * Distributed single flight: across instances only one factory runs per key; the others wait for its
   * value (polling with a deadline) and call the factory themselves if the holder dies or `wait` passes.
   * @default false
   * @example kit.cache('reports', { lock: { wait: '5s', ttl: '30s' } })
   */
  lock?: boolean | LockOptions
  /**
   * Return a structured clone of L1 values instead of the shared instance. Without it, callers must not
   * mutate what getOrSet/get return when L1 is on.
   * @default false
   */
  clone?: boolean
  /**
   * A preset from `kit.tiers` / `cacheTiers` whose options apply unless set here.
   * @default none
   * @example kit.cache('zones', { tier: 'reference', ttl: '12h' })
   */
  tier?: CacheTierName
  /**
   * The Cache-Control header an HTTP response built from this cache's values should carry; read it back
   * as `cache.cacheControl`. Each tier sets one.
   * @default none
   * @example kit.cache('catalog', { ttl: '10m', cacheControl: 'private, max-age=60' })
   */
  cacheControl?: string
  /**
   * A version of the cached data's shape, part of every key (`cache:<namespace>@<version>:...`): bump it
   * on a deploy that changes what is cached and the new code never reads entries the old code wrote
   * (they expire on their own). Letters, digits, `_`, `.` and `-`.
   * @default none (keys carry no version)
   * @example kit.cache('products', { ttl: '10m', version: 3 })
   */
  version?: string | number
  /**
   * `false` turns the cache off: getOrSet always calls the factory, get misses, writes are skipped
   * (deletes and tag invalidations still apply, so nothing stale is left for when it is turned back on).
   * A function is asked on every call, for a feature flag changed at runtime. Metrics report `enabled`
   * and count the calls that went past the cache in `bypassed`.
   * @default true
   * @example kit.cache('search', { ttl: '1m', enabled: () => flags.isOn('search-cache') })
   */
  enabled?: boolean | (() => boolean)
}

/** Options of the in-process tier. */
export interface L1Options {
  /** Most entries kept. @default 10000 */
  max?: number
  /** Most bytes kept (payload size as stored in Redis). @default 67108864 (64 MiB) */
  maxBytes?: number
  /** How long an L1 copy is used before Redis is read again; at most the entry ttl. @default the entry ttl */
  ttl?: Duration
}

/** Options of the distributed lock. */
export interface LockOptions {
  /** How long a waiter waits for the holder's value before calling the factory itself. @default '5s' */
  wait?: Duration
  /** Lock lifetime: if the holder dies, another instance takes over after this long. @default '10s' */
  ttl?: Duration
}

/** Per-call options of `set`, `setMany` entries and `getOrSet`. */
export interface CacheSetOptions {
  /** Overrides the cache's `ttl` for this entry. */
  ttl?: Duration
  /**
   * Tags of the entry: `kit.invalidateTags([tag])` makes every entry carrying one of them a miss, on
   * every instance, in O(1).
   * @example orders.getOrSet(['company', id, query], load, { tags: [`company:${id}:orders`] })
   */
  tags?: readonly string[]
}

/** Per-call options of `getOrSet`. */
export interface GetOrSetOptions extends CacheSetOptions {
  /** Overrides the cache's `cacheNullish` for this call. */
  cacheNullish?: boolean
}

/** What a getOrSet factory receives. */
export interface FactoryContext<T> {
  /** Fires when `hardTimeout` passes (the result is then discarded). Pass it to fetch, database drivers... */
  signal: AbortSignal
  /** The stale value being refreshed, if any. */
  stale: T | undefined
  /**
   * True when the call refreshes an entry in the background (swr, eager refresh): the caller that
   * triggered it has already been given the cached value, and nobody waits on this call.
   */
  background: boolean
}

/** Cache options after defaults and validation. */
export interface ResolvedCacheOptions {
  ttlMs: number
  serializer: CacheSerializer
  /** The serializer when it is the default JSON one: its faster entry points are used. */
  json: JsonSerializer | undefined
  compression: CompressionAlgorithm | false
  compressThreshold: number
  maxSize: number
  cacheNullish: boolean
  strict: boolean
  l1: { max: number; maxBytes: number; ttlMs: number } | undefined
  swrMs: number
  graceMs: number
  softTimeoutMs: number | undefined
  hardTimeoutMs: number | undefined
  eagerRefresh: number | undefined
  lock: { waitMs: number; ttlMs: number } | undefined
  clone: boolean
  cacheControl: string | undefined
  /** The key segment naming the cache: the namespace, with `@<version>` when versioned. */
  keySegment: string
  /** Whether the cache is on right now; undefined when it always is (the hot paths skip the call). */
  enabled: (() => boolean) | undefined
}

const KNOWN = new Set([
  'ttl',
  'serializer',
  'compression',
  'compressThreshold',
  'maxSize',
  'cacheNullish',
  'strict',
  'l1',
  'swr',
  'grace',
  'softTimeout',
  'hardTimeout',
  'eagerRefresh',
  'lock',
  'clone',
  'tier',
  'cacheControl',
  'version',
  'enabled',
])

const L1_KNOWN = new Set(['max', 'maxBytes', 'ttl'])
const LOCK_KNOWN = new Set(['wait', 'ttl'])
const COMPRESSIONS = ['gzip', 'brotli', false] as const
const CALL_KNOWN = {
  set: new Set(['ttl', 'tags']),
  getOrSet: new Set(['ttl', 'tags', 'cacheNullish']),
  warm: new Set(['concurrency', 'onProgress']),
}

/**
 * Checks the options of one call (`set`, `getOrSet`, `warm`): a typo there would silently change nothing.
 * @throws InvalidOptionsError
 */
export function checkCallOptions(namespace: string, call: keyof typeof CALL_KNOWN, options: unknown): void {
  if (options !== undefined) checkOptionKeys(options, CALL_KNOWN[call], `cache '${namespace}' ${call}`)
}

/** Validates cache options; throws InvalidOptionsError naming the cache and the option. */
export function resolveCacheOptions(namespace: string, given: CacheOptions = {}): ResolvedCacheOptions {
  const where = `cache '${namespace}'`
  checkOptionKeys(given, KNOWN, where)
  const options = withTier(where, given)
  const serializer = options.serializer ?? new JsonSerializer()
  if (typeof serializer.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
    throw new InvalidOptionsError(
      `${where}: serializer must have serialize(value) and deserialize(data) functions.`,
    )
  }
  const compression = checkOneOf(options.compression ?? 'gzip', COMPRESSIONS, where, 'compression')
  const ttlMs = parseDuration(options.ttl ?? '1h', `${where} ttl`)
  const swrMs = parseDuration(options.swr ?? 0, `${where} swr`)
  const graceMs = parseDuration(options.grace ?? 0, `${where} grace`)
  if (ttlMs === 0 && (swrMs > 0 || graceMs > 0)) {
    throw new InvalidOptionsError(
      `${where}: swr and grace need a ttl (entries without expiry are never stale).`,
    )
  }
  const softTimeoutMs =
    options.softTimeout === undefined ? undefined : parseDuration(options.softTimeout, `${where} softTimeout`)
  const hardTimeoutMs =
    options.hardTimeout === undefined ? undefined : parseDuration(options.hardTimeout, `${where} hardTimeout`)
  if (softTimeoutMs !== undefined && hardTimeoutMs !== undefined && softTimeoutMs >= hardTimeoutMs) {
    throw new InvalidOptionsError(
      `${where}: softTimeout (${softTimeoutMs} ms) must be shorter than hardTimeout (${hardTimeoutMs} ms).`,
    )
  }
  const eagerRefresh = options.eagerRefresh
  if (
    eagerRefresh !== undefined &&
    !(typeof eagerRefresh === 'number' && eagerRefresh > 0 && eagerRefresh < 1)
  ) {
    throw new InvalidOptionsError(
      `${where}: eagerRefresh must be a fraction between 0 and 1 (e.g. 0.8), got ${eagerRefresh}.`,
    )
  }
  if (eagerRefresh !== undefined && ttlMs === 0) {
    throw new InvalidOptionsError(`${where}: eagerRefresh needs a ttl.`)
  }
  return {
    ttlMs,
    swrMs,
    graceMs,
    softTimeoutMs,
    hardTimeoutMs,
    eagerRefresh,
    l1: resolveL1(where, options.l1, ttlMs),
    lock: resolveLock(where, options.lock),
    clone: flag(options.clone, false, `${where} clone`),
    cacheControl: headerValue(where, options.cacheControl),
    keySegment: keySegment(where, namespace, options.version),
    enabled: resolveEnabled(where, options.enabled),
    serializer,
    json: serializer instanceof JsonSerializer ? serializer : undefined,
    compression,
    compressThreshold: byteCount(options.compressThreshold, 1024, `${where} compressThreshold`),
    maxSize: byteCount(options.maxSize, 4 * 1024 * 1024, `${where} maxSize`),
    cacheNullish: flag(options.cacheNullish, false, `${where} cacheNullish`),
    strict: flag(options.strict, false, `${where} strict`),
  }
}

function resolveL1(where: string, l1: CacheOptions['l1'], ttlMs: number): ResolvedCacheOptions['l1'] {
  if (l1 === undefined || l1 === false) return undefined
  if (typeof l1 !== 'object' || l1 === null || Array.isArray(l1)) {
    throw new InvalidOptionsError(
      `${where}: l1 must be false or an object such as { max: 10000 }, got ${describeValue(l1)}.`,
    )
  }
  checkOptionKeys(l1, L1_KNOWN, where, { path: 'l1' })
  const max = l1.max ?? 10_000
  if (!Number.isInteger(max) || max < 1)
    throw new InvalidOptionsError(`${where}: l1.max must be an integer >= 1, got ${max}.`)
  const maxBytes = byteCount(l1.maxBytes, 64 * 1024 * 1024, `${where} l1.maxBytes`)
  if (maxBytes < 1) throw new InvalidOptionsError(`${where}: l1.maxBytes must be at least 1.`)
  const l1Ttl = l1.ttl === undefined ? ttlMs : parseDuration(l1.ttl, `${where} l1.ttl`)
  if (ttlMs > 0 && (l1Ttl > ttlMs || l1Ttl === 0)) {
    throw new InvalidOptionsError(
      `${where}: l1.ttl (${l1Ttl} ms) must not be longer than the entry ttl (${ttlMs} ms).`,
    )
  }
  return { max, maxBytes, ttlMs: l1Ttl }
}

function resolveLock(where: string, lock: CacheOptions['lock']): ResolvedCacheOptions['lock'] {
  if (lock === undefined || lock === false) return undefined
  const options = lock === true ? {} : lock
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(
      `${where}: lock must be true, false or an object such as { wait: '5s', ttl: '10s' }, got ${describeValue(lock)}.`,
    )
  }
  checkOptionKeys(options, LOCK_KNOWN, where, { path: 'lock' })
  const ttlMs = parseDuration(options.ttl ?? '10s', `${where} lock.ttl`)
  if (ttlMs === 0) throw new InvalidOptionsError(`${where}: lock.ttl must be greater than 0.`)
  return { waitMs: parseDuration(options.wait ?? '5s', `${where} lock.wait`), ttlMs }
}

function byteCount(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 0) {
    throw new InvalidOptionsError(
      `${name} must be a whole number of bytes >= 0, got ${JSON.stringify(value)}.`,
    )
  }
  return value
}

/** The options over the tier's (a tier's fields apply unless the options set them). */
function withTier(where: string, options: CacheOptions): CacheOptions {
  if (options.tier === undefined) return options
  const tier = checkOneOf(options.tier, Object.keys(cacheTiers) as CacheTierName[], where, 'tier')
  const merged: CacheOptions = { ...cacheTiers[tier] }
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value
  }
  return merged
}

function keySegment(where: string, namespace: string, version: CacheOptions['version']): string {
  if (version === undefined) return namespace
  const text = typeof version === 'number' && Number.isSafeInteger(version) ? String(version) : version
  if (typeof text !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(text)) {
    throw new InvalidOptionsError(
      `${where}: version must be a whole number or a string of letters, digits, '_', '.' or '-', got ${describeValue(version)}.`,
    )
  }
  // '@' cannot appear in a namespace, so a versioned cache never shares keys with another namespace.
  return `${namespace}@${text}`
}

function resolveEnabled(where: string, enabled: CacheOptions['enabled']): ResolvedCacheOptions['enabled'] {
  if (enabled === undefined || enabled === true) return undefined
  if (enabled === false) return () => false
  if (typeof enabled !== 'function') {
    throw new InvalidOptionsError(
      `${where}: enabled must be true, false or a function returning a boolean, got ${describeValue(enabled)}.`,
    )
  }
  return () => enabled() !== false
}

function headerValue(where: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  // A header value: visible ASCII and spaces only, so it cannot split or smuggle a header.
  if (typeof value !== 'string' || !/^[\x20-\x7e]+$/.test(value) || value.trim() === '') {
    throw new InvalidOptionsError(
      `${where}: cacheControl must be a header value such as 'private, max-age=60', got ${JSON.stringify(value)}.`,
    )
  }
  return value
}

function flag(value: boolean | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionsError(`${name} must be true or false.`)
  return value
}
