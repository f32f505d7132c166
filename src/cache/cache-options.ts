// Options of kit.cache(namespace, options) and their resolution, once per cache, into a typed object
// the hot path reads without re-parsing durations or re-checking defaults.

import { type Duration, parseDuration } from '../config/duration.js'
import { InvalidOptionsError } from '../errors.js'
import type { CompressionAlgorithm } from './compression.js'
import { type CacheSerializer, JsonSerializer } from './json-serializer.js'

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
}

const KNOWN = new Set([
  'ttl',
  'serializer',
  'compression',
  'compressThreshold',
  'maxSize',
  'cacheNullish',
  'strict',
])

/** Validates cache options; throws InvalidOptionsError naming the cache and the option. */
export function resolveCacheOptions(namespace: string, options: CacheOptions = {}): ResolvedCacheOptions {
  const where = `cache '${namespace}'`
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionsError(`${where}: options must be an object.`)
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      throw new InvalidOptionsError(`${where}: unknown option '${key}'. Known: ${[...KNOWN].join(', ')}.`)
  }
  const serializer = options.serializer ?? new JsonSerializer()
  if (typeof serializer.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
    throw new InvalidOptionsError(
      `${where}: serializer must have serialize(value) and deserialize(data) functions.`,
    )
  }
  const compression = options.compression ?? 'gzip'
  if (compression !== false && compression !== 'gzip' && compression !== 'brotli') {
    throw new InvalidOptionsError(
      `${where}: compression must be 'gzip', 'brotli' or false, got ${JSON.stringify(compression)}.`,
    )
  }
  return {
    ttlMs: parseDuration(options.ttl ?? '1h', `${where} ttl`),
    serializer,
    json: serializer instanceof JsonSerializer ? serializer : undefined,
    compression,
    compressThreshold: byteCount(options.compressThreshold, 1024, `${where} compressThreshold`),
    maxSize: byteCount(options.maxSize, 4 * 1024 * 1024, `${where} maxSize`),
    cacheNullish: flag(options.cacheNullish, false, `${where} cacheNullish`),
    strict: flag(options.strict, false, `${where} strict`),
  }
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

function flag(value: boolean | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionsError(`${name} must be true or false.`)
  return value
}
