// A cache bound to one namespace: typed get/set/getOrSet with single flight, batch operations,
// pattern deletes by SCAN, and an envelope that turns foreign or corrupt data into a miss.

import { type Duration, parseDuration } from '../config/duration.js'
import {
  CacheSerializationError,
  CacheValueTooLargeError,
  InvalidOptionsError,
  RedisUnavailableError,
} from '../errors.js'
import type { FeatureContext } from '../feature-context.js'
import { encodePart, escapeGlob, type KeyPart } from '../keys/key-builder.js'
import type { Logger } from '../logger.js'
import type { Store } from '../store/store.js'
import { CacheMetrics } from './cache-metrics.js'
import {
  type CacheOptions,
  type CacheSetOptions,
  type GetOrSetOptions,
  type ResolvedCacheOptions,
  resolveCacheOptions,
} from './cache-options.js'
import { compress, decompress } from './compression.js'
import { decodeEnvelope, type Envelope, encodeEnvelope } from './envelope.js'
import { ReadBatcher } from './read-batcher.js'
import { SingleFlight } from './single-flight.js'
import type { TagVersions } from './tags/tag-versions.js'

/** A cache key: a string used as is, or parts joined with `:` (each part encoded by the key builder). */
export type CacheKey = string | readonly KeyPart[]

/** A getOrSet factory: computes the value on a miss. */
export type CacheFactory<T> = () => T | Promise<T>

/** One entry of `setMany`. */
export interface CacheEntry<T> {
  key: CacheKey
  value: T
  /** Overrides the cache's ttl for this entry. */
  ttl?: Duration
  /** Tags of this entry (see `kit.invalidateTags`). */
  tags?: readonly string[]
}

interface TaggedWrite {
  tags: string[]
  versions: string[]
  field: string
}

const MISS: unique symbol = Symbol('miss')
type Read<T> = T | typeof MISS
// An empty payload can never be serializer output of a defined value: it marks a cached `undefined`.
const UNDEFINED_PAYLOAD = ''
const FOREVER = Number.MAX_SAFE_INTEGER
const DELETE_BATCH = 1000
const WARN_INTERVAL_MS = 1000

const CAS_SCRIPT = {
  name: 'cache.compareAndSet',
  lua: "if redis.call('GET', KEYS[1]) == ARGV[1] then if ARGV[3] == '0' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return 1 end return 0",
  memory: (
    context: { get(key: string): string | null; set(k: string, v: string, o?: { ttlMs?: number }): boolean },
    keys: readonly string[],
    args: readonly string[],
  ) => {
    if (context.get(keys[0]!) !== args[0]) return 0
    const ttlMs = Number(args[2])
    context.set(keys[0]!, args[1]!, ttlMs > 0 ? { ttlMs } : undefined)
    return 1
  },
}

/**
 * A namespaced cache. Create it with `kit.cache(namespace, options)`.
 *
 * Values are stored in an envelope (format version, times, payload) under
 * `<prefix>cache:<namespace>:<key>`. Anything under a key that is not a valid envelope is deleted and
 * read as a miss. When Redis is unavailable, reads are misses and writes are skipped (counted in
 * `errors`, logged at warn), unless `strict: true`.
 *
 * @example
 * const products = kit.cache<Product>('products', { ttl: '10m' })
 * const product = await products.getOrSet(['product', id], () => db.product(id))
 * await products.delete(['product', id])
 */
export class Cache<V = unknown> {
  /** The namespace given to `kit.cache`. */
  readonly namespace: string
  /** Every key of this cache starts with this. */
  readonly keyPrefix: string
  readonly #options: ResolvedCacheOptions
  readonly #store: Store
  readonly #logger: Logger
  readonly #tags: () => TagVersions
  readonly #metrics = new CacheMetrics()
  readonly #flights = new SingleFlight<unknown>()
  /** Single-node Redis only: on Cluster an MGET would have to be split per slot, and memory needs no batching. */
  readonly #batcher: ReadBatcher | undefined
  /** Bumped whenever a getOrSet flight finishes: a read that overlapped one re-reads before producing. */
  #flightEpoch = 0
  #reads = 0
  #lastWarnAt = 0
  #suppressedWarnings = 0

  /** @internal use `kit.cache()` */
  constructor(context: FeatureContext, namespace: string, options: CacheOptions = {}) {
    if (typeof namespace !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(namespace)) {
      throw new InvalidOptionsError(
        `Cache namespace must be a non-empty string of letters, digits, '_', '.' or '-', got ${JSON.stringify(namespace)}.`,
      )
    }
    this.namespace = namespace
    this.#options = resolveCacheOptions(namespace, options)
    this.#store = context.store
    this.#logger = context.logger
    this.#tags = context.tags
    this.keyPrefix = context.keys.scope('cache', namespace).prefix
    this.#batcher =
      this.#store.mode === 'redis' || this.#store.mode === 'sentinel'
        ? new ReadBatcher(this.#store)
        : undefined
    this.#store.defineScript(CAS_SCRIPT)
    context.registerMetrics('cache', namespace, () => this.#metrics.snapshot())
  }

  /** The full store key of a cache key. */
  keyOf(key: CacheKey): string {
    if (typeof key === 'string') {
      if (key === '') throw new InvalidOptionsError(`cache '${this.namespace}': a key must not be empty.`)
      return this.keyPrefix + key
    }
    if (!Array.isArray(key) || key.length === 0) {
      throw new InvalidOptionsError(
        `cache '${this.namespace}': a key must be a non-empty string or a non-empty array of parts, got ${describe(key)}.`,
      )
    }
    let full = this.keyPrefix + encodePart(key[0])
    for (let i = 1; i < key.length; i++) full += `:${encodePart(key[i])}`
    return full
  }

  /**
   * A glob for {@link deletePattern}, relative to this cache: the parts are escaped so user input matches
   * only itself, then `glob` is appended.
   * @example products.deletePattern(products.pattern(['user', userId])) // 'user:<escaped id>:*'
   */
  pattern(parts: readonly KeyPart[], glob = '*'): string {
    return `${escapeGlob(parts.map(encodePart).join(':'))}:${glob}`
  }

  /** The cached value, or `undefined` on a miss (including when Redis is unavailable, unless strict). */
  get<T = V>(key: CacheKey): Promise<T | undefined> {
    const fullKey = this.keyOf(key)
    const started = this.#sampleStart()
    return this.#read<T>(fullKey).then((result) => {
      if (started >= 0) this.#metrics.getLatency.add(performance.now() - started)
      if (result === MISS) {
        this.#metrics.misses++
        return undefined
      }
      this.#metrics.hits++
      return result
    })
  }

  /** Whether a fresh entry exists. */
  async has(key: CacheKey): Promise<boolean> {
    const envelope = await this.#readEnvelope(this.keyOf(key))
    return envelope !== undefined && envelope.freshUntil > Date.now()
  }

  /** Milliseconds until the entry stops being fresh; `Infinity` without expiry; `undefined` when missing. */
  async ttl(key: CacheKey): Promise<number | undefined> {
    const envelope = await this.#readEnvelope(this.keyOf(key))
    if (!envelope) return undefined
    if (envelope.freshUntil === FOREVER) return Number.POSITIVE_INFINITY
    const left = envelope.freshUntil - Date.now()
    return left > 0 ? left : undefined
  }

  /**
   * Gives an existing entry a new time to live from now, without rewriting its value.
   * Resolves `false` when the entry is missing (or was replaced meanwhile).
   */
  async expire(key: CacheKey, ttl: Duration): Promise<boolean> {
    const ttlMs = parseDuration(ttl, `cache '${this.namespace}' expire ttl`)
    const fullKey = this.keyOf(key)
    const raw = await this.#guard(this.#store.get(fullKey), undefined)
    if (raw === undefined || raw === null) return false
    const envelope = decodeEnvelope(raw)
    if (!envelope) return false
    const now = Date.now()
    const freshUntil = ttlMs === 0 ? FOREVER : now + ttlMs
    const next = encodeEnvelope({ ...envelope, freshUntil, staleUntil: freshUntil })
    const reply = await this.#guard(this.#store.runScript(CAS_SCRIPT.name, [fullKey], [raw, next, ttlMs]), 0)
    return reply === 1
  }

  /**
   * Stores a value.
   * @throws CacheSerializationError when the value cannot be serialized
   * @throws CacheValueTooLargeError when it is larger than `maxSize` (nothing is stored)
   */
  async set<T = V>(key: CacheKey, value: T, options?: CacheSetOptions): Promise<void> {
    const fullKey = this.keyOf(key)
    const ttlMs = this.#ttlOf(options?.ttl)
    const tagged = await this.#tagsOf(options?.tags)
    if (tagged === null) return
    const encoded = await this.#encode(fullKey, value, ttlMs, tagged?.field)
    await this.#write(fullKey, encoded, ttlMs, tagged, 'set')
  }

  /** Removes an entry; resolves whether it existed. */
  async delete(key: CacheKey): Promise<boolean> {
    const removed = await this.#guard(this.#store.del([this.keyOf(key)]), 0, 'delete')
    this.#metrics.deletes += removed
    return removed > 0
  }

  /**
   * The cached value, or the factory's value (stored, then returned) on a miss. Concurrent callers of
   * one missing key in this process share one factory call; a factory error reaches each of them and
   * nothing is cached. `undefined` is not cached unless `cacheNullish`. When Redis is unavailable the
   * factory is called and its value returned.
   */
  getOrSet<T = V>(key: CacheKey, factory: CacheFactory<T>, options?: GetOrSetOptions): Promise<T> {
    if (typeof factory !== 'function') {
      return Promise.reject(
        new InvalidOptionsError(`cache '${this.namespace}': getOrSet needs a factory function.`),
      )
    }
    let fullKey: string
    try {
      fullKey = this.keyOf(key)
    } catch (error) {
      return Promise.reject(error)
    }
    const running = this.#flights.has(fullKey)
    if (running) return this.#join<T>(fullKey, factory, options)
    const epoch = this.#flightEpoch
    const started = this.#sampleStart()
    return this.#read<T>(fullKey).then((result) => {
      if (started >= 0) this.#metrics.getLatency.add(performance.now() - started)
      if (result !== MISS) {
        this.#metrics.hits++
        return result
      }
      this.#metrics.misses++
      if (epoch !== this.#flightEpoch && !this.#flights.has(fullKey)) {
        // A flight finished while this read was in flight; its value may have landed after our GET.
        return this.#read<T>(fullKey).then((again) =>
          again === MISS ? this.#join(fullKey, factory, options) : again,
        )
      }
      return this.#join(fullKey, factory, options)
    })
  }

  /** Values of many keys, in order (`undefined` for misses). One round trip per node. */
  async getMany<T = V>(keys: readonly CacheKey[]): Promise<(T | undefined)[]> {
    const fullKeys = keys.map((key) => this.keyOf(key))
    const started = performance.now()
    const raws = await this.#guard(this.#store.mget(fullKeys), undefined)
    const results = await Promise.all(
      fullKeys.map((fullKey, i) => {
        const raw = raws?.[i]
        return raw === undefined || raw === null ? MISS : this.#decode<T>(fullKey, raw)
      }),
    )
    this.#metrics.getLatency.add(performance.now() - started)
    return results.map((result) => {
      if (result === MISS) {
        this.#metrics.misses++
        return undefined
      }
      this.#metrics.hits++
      return result
    })
  }

  /** Stores many values, each with its own ttl. One round trip per node. */
  async setMany<T = V>(entries: readonly CacheEntry<T>[]): Promise<void> {
    const prepared = await Promise.all(
      entries.map(async (entry) => {
        const key = this.keyOf(entry.key)
        const ttlMs = this.#ttlOf(entry.ttl)
        const tagged = await this.#tagsOf(entry.tags)
        return tagged === null
          ? undefined
          : { key, value: await this.#encode(key, entry.value, ttlMs, tagged?.field), ttlMs, tagged }
      }),
    )
    const writable = prepared.filter((entry) => entry !== undefined)
    await this.#guard(this.#store.mset(writable), undefined, 'setMany')
    this.#metrics.sets += writable.length
    await Promise.all(
      writable.map((entry) =>
        entry.tagged
          ? this.#guard(
              this.#tags().index(entry.tagged.tags, entry.tagged.versions, entry.key, entry.ttlMs),
              undefined,
              'setMany',
            )
          : undefined,
      ),
    )
  }

  /** Removes many entries; resolves how many existed. */
  async deleteMany(keys: readonly CacheKey[]): Promise<number> {
    const removed = await this.#guard(this.#store.del(keys.map((key) => this.keyOf(key))), 0, 'deleteMany')
    this.#metrics.deletes += removed
    return removed
  }

  /**
   * Removes every entry of this cache whose key (relative to the cache) matches a glob, walking every
   * master with SCAN (COUNT 1000) and deleting with UNLINK in batches of 1000 — never KEYS.
   * Use {@link pattern} to build the glob from user input safely. Resolves how many keys were removed.
   * @example await products.deletePattern('product:*')
   */
  async deletePattern(glob: string): Promise<number> {
    if (typeof glob !== 'string' || glob === '') {
      throw new InvalidOptionsError(`cache '${this.namespace}': deletePattern needs a non-empty glob string.`)
    }
    const match = escapeGlob(this.keyPrefix) + glob
    let removed = 0
    const pending: string[] = []
    const flush = async (): Promise<void> => {
      const batch = pending.splice(0, DELETE_BATCH)
      if (batch.length > 0) removed += await this.#store.del(batch)
    }
    try {
      for await (const keys of this.#store.scan({ match, count: DELETE_BATCH })) {
        pending.push(...keys)
        while (pending.length >= DELETE_BATCH) await flush()
      }
      while (pending.length > 0) await flush()
    } catch (error) {
      this.#storeFailed('deletePattern', error)
    }
    this.#metrics.deletes += removed
    return removed
  }

  /** Removes every entry of this cache (SCAN + UNLINK, like {@link deletePattern}). */
  clear(): Promise<number> {
    return this.deletePattern('*')
  }

  /** Start time of a read whose latency is sampled (one in 8: unbiased, and cheap on the hot path), else -1. */
  #sampleStart(): number {
    return (++this.#reads & 7) === 0 ? performance.now() : -1
  }

  #join<T>(fullKey: string, factory: CacheFactory<T>, options?: GetOrSetOptions): Promise<T> {
    return this.#flights.run(fullKey, () =>
      this.#produce(fullKey, factory, options).finally(() => {
        this.#flightEpoch++
      }),
    ) as Promise<T>
  }

  async #produce<T>(fullKey: string, factory: CacheFactory<T>, options?: GetOrSetOptions): Promise<T> {
    const ttlMs = this.#ttlOf(options?.ttl)
    // Versions are read BEFORE the factory runs: an invalidation during a slow factory makes the
    // entry born stale instead of serving data built from before the invalidation.
    const tagged = await this.#tagsOf(options?.tags)
    this.#metrics.factoryCalls++
    const value = await factory()
    if (value === undefined && !(options?.cacheNullish ?? this.#options.cacheNullish)) return value
    if (tagged === null) return value
    const encoded = await this.#encode(fullKey, value, ttlMs, tagged?.field)
    await this.#write(fullKey, encoded, ttlMs, tagged, 'getOrSet')
    return value
  }

  /** Writes an encoded entry and indexes it under its tags. */
  async #write(
    fullKey: string,
    encoded: string,
    ttlMs: number,
    tagged: TaggedWrite | undefined,
    operation: string,
  ) {
    const write = this.#store.set(fullKey, encoded, ttlMs > 0 ? { ttlMs } : undefined)
    const index = tagged ? this.#tags().index(tagged.tags, tagged.versions, fullKey, ttlMs) : undefined
    if (await this.#guard(write, false, operation)) this.#metrics.sets++
    if (index) await this.#guard(index, undefined, operation)
  }

  /**
   * Current versions of the given tags: undefined without tags, null when Redis is unavailable
   * (the write is then skipped, as any write would be), else what the envelope and index need.
   */
  async #tagsOf(rawTags: readonly string[] | undefined): Promise<TaggedWrite | undefined | null> {
    if (rawTags === undefined || rawTags.length === 0) return undefined
    const versionsOwner = this.#tags()
    const tags = versionsOwner.encode(rawTags)
    const versions = await this.#guard(versionsOwner.current(tags), null, 'tags')
    if (versions === null) return null
    return { tags, versions, field: versionsOwner.field(tags, versions) }
  }

  /** Reads and decodes one key: the value, or MISS. */
  #read<T>(fullKey: string): Promise<Read<T>> {
    return (this.#batcher ? this.#batcher.get(fullKey) : this.#store.get(fullKey)).then(
      (raw) => (raw === null ? MISS : this.#decode<T>(fullKey, raw)),
      (error: unknown) => this.#readFailed(fullKey, error),
    )
  }

  async #readEnvelope(fullKey: string): Promise<Envelope | undefined> {
    const raw = await this.#guard(this.#store.get(fullKey), null)
    if (raw === null) return undefined
    const envelope = decodeEnvelope(raw)
    if (!envelope) this.#corrupt(fullKey, 'not a cache envelope')
    return envelope
  }

  #readFailed(fullKey: string, error: unknown): typeof MISS {
    if (error instanceof RedisUnavailableError) {
      this.#metrics.errors++
      if (this.#options.strict) throw error
      this.#logger.debug(
        { key: fullKey, error: error.message },
        'redkit: cache read failed, treated as a miss',
      )
      return MISS
    }
    // The store refused the command (e.g. WRONGTYPE: something else lives under our key).
    this.#corrupt(fullKey, error instanceof Error ? error.message : String(error))
    return MISS
  }

  /** Decodes a stored envelope; corrupt data is deleted and read as MISS. Sync unless compressed. */
  #decode<T>(fullKey: string, raw: string): Read<T> | Promise<Read<T>> {
    const envelope = decodeEnvelope(raw)
    if (!envelope) return this.#corrupt(fullKey, 'not a cache envelope')
    if (envelope.freshUntil <= Date.now()) return MISS
    if (envelope.tags !== '') {
      const current = this.#tags().matches(envelope.tags)
      if (current === false) return this.#invalidated(fullKey)
      if (current !== true) {
        return current.then(
          (ok) => (ok ? this.#payload<T>(fullKey, envelope) : this.#invalidated(fullKey)),
          (error: unknown) => this.#readFailed(fullKey, error),
        )
      }
    }
    return this.#payload<T>(fullKey, envelope)
  }

  /** An entry whose tag versions are outdated: a miss, and its memory is given back now. */
  #invalidated(fullKey: string): typeof MISS {
    this.#store.del([fullKey]).catch(() => {
      // The sweeper or the ttl reclaims it later.
    })
    return MISS
  }

  #payload<T>(fullKey: string, envelope: Envelope): Read<T> | Promise<Read<T>> {
    if (envelope.payload === UNDEFINED_PAYLOAD) return undefined as T
    const { flags } = envelope
    if (!flags.binary && flags.compression === 'none')
      return this.#deserialize<T>(fullKey, envelope.payload, flags.tagged)
    const bytes = Buffer.from(envelope.payload, 'base64')
    if (flags.compression === 'none') return this.#deserialize<T>(fullKey, bytes, flags.tagged)
    return decompress(bytes, flags.compression).then(
      (plain) => this.#deserialize<T>(fullKey, flags.binary ? plain : plain.toString('utf8'), flags.tagged),
      (error: unknown) =>
        this.#corrupt(fullKey, `bad ${flags.compression} data: ${(error as Error).message}`),
    )
  }

  #deserialize<T>(fullKey: string, data: string | Buffer, tagged: boolean): Read<T> {
    try {
      const json = this.#options.json
      if (json && typeof data === 'string') return json.decode(data, tagged) as T
      return this.#options.serializer.deserialize(data) as T
    } catch (error) {
      return this.#corrupt(fullKey, `payload does not deserialize: ${(error as Error).message}`)
    }
  }

  #corrupt(fullKey: string, reason: string): typeof MISS {
    this.#metrics.corrupt++
    this.#logger.debug({ key: fullKey, reason }, 'redkit: corrupt cache entry deleted')
    this.#store.del([fullKey]).catch(() => {
      // Best effort: the entry expires by itself if Redis is unavailable right now.
    })
    return MISS
  }

  async #encode(fullKey: string, value: unknown, ttlMs: number, tagsField = ''): Promise<string> {
    const now = Date.now()
    const freshUntil = ttlMs === 0 ? FOREVER : now + ttlMs
    const options = this.#options
    let text: string | undefined
    let bytes: Buffer | undefined
    let tagged = false
    if (value === undefined) {
      text = UNDEFINED_PAYLOAD
    } else if (options.json) {
      ;({ text, tagged } = options.json.encode(value))
    } else {
      const out = options.serializer.serialize(value)
      if (typeof out === 'string') text = out
      else if (Buffer.isBuffer(out)) bytes = out
      else
        throw new CacheSerializationError(
          `cache '${this.namespace}': serializer returned neither a string nor a Buffer.`,
        )
      if (text === UNDEFINED_PAYLOAD) {
        throw new CacheSerializationError(`cache '${this.namespace}': serializer returned an empty string.`)
      }
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: short text needs no exact count.
    const size = bytes
      ? bytes.length
      : text!.length * 3 <= options.compressThreshold
        ? 0
        : Buffer.byteLength(text!)
    if (size > options.maxSize) throw new CacheValueTooLargeError(fullKey, size, options.maxSize)
    let payload: string
    let compression: Envelope['flags']['compression'] = 'none'
    if (options.compression && size > options.compressThreshold) {
      compression = options.compression
      payload = (await compress(bytes ?? Buffer.from(text!, 'utf8'), options.compression)).toString('base64')
    } else {
      payload = bytes ? bytes.toString('base64') : text!
    }
    return encodeEnvelope({
      flags: { binary: bytes !== undefined, compression, tagged },
      createdAt: now,
      freshUntil,
      staleUntil: freshUntil,
      tags: tagsField,
      payload,
    })
  }

  #ttlOf(ttl: Duration | undefined): number {
    return ttl === undefined ? this.#options.ttlMs : parseDuration(ttl, `cache '${this.namespace}' ttl`)
  }

  /** Awaits a store call; on unavailability counts, logs and returns `fallback` (or throws when strict). */
  async #guard<T, F>(call: Promise<T>, fallback: F, operation?: string): Promise<T | F> {
    try {
      return await call
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error
      this.#storeFailed(operation ?? 'read', error)
      return fallback
    }
  }

  #storeFailed(operation: string, error: unknown): void {
    if (!(error instanceof RedisUnavailableError)) throw error
    this.#metrics.errors++
    if (this.#options.strict) throw error
    const now = Date.now()
    if (now - this.#lastWarnAt < WARN_INTERVAL_MS) {
      this.#suppressedWarnings++
      return
    }
    this.#logger.warn(
      { cache: this.namespace, operation, error: error.message, suppressed: this.#suppressedWarnings },
      'redkit: cache write skipped, Redis unavailable',
    )
    this.#lastWarnAt = now
    this.#suppressedWarnings = 0
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an empty array'
  return value === null ? 'null' : typeof value
}
