// A cache bound to one namespace: typed get/set/getOrSet with single flight, an optional in-process
// tier kept in sync by the bus, stale-while-revalidate, grace, factory timeouts, a distributed lock,
// batch operations, pattern deletes by SCAN, and an envelope that turns corrupt data into a miss.

import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { type Duration, parseDuration } from '../config/duration.js'
import { checkName } from '../config/validate.js'
import {
  CacheFactoryTimeoutError,
  CacheSerializationError,
  CacheValueTooLargeError,
  errorMessage,
  InvalidOptionsError,
  RedisUnavailableError,
} from '../errors.js'
import type { FeatureContext } from '../feature-context.js'
import { encodePart, escapeGlob, type KeyPart } from '../keys/key-builder.js'
import type { Logger } from '../logger.js'
import { type ReadBatcher, readBatcherFor } from '../store/read-batcher.js'
import type { Store } from '../store/store.js'
import { CacheMetrics } from './cache-metrics.js'
import {
  type CacheOptions,
  type CacheSetOptions,
  type FactoryContext,
  type GetOrSetOptions,
  type ResolvedCacheOptions,
  resolveCacheOptions,
} from './cache-options.js'
import { coarseNow } from './coarse-clock.js'
import { compress, decompress } from './compression.js'
import { decodeEnvelope, type Envelope, encodeEnvelope } from './envelope.js'
import { L1Cache } from './l1-cache.js'
import { SingleFlight } from './single-flight.js'
import type { TagVersions } from './tags/tag-versions.js'

/** A cache key: a string used as is, or parts joined with `:` (each part encoded by the key builder). */
export type CacheKey = string | readonly KeyPart[]

/** A getOrSet factory: computes the value on a miss. It may use the abort signal and the stale value. */
export type CacheFactory<T> = (context: FactoryContext<T>) => T | Promise<T>

/** One entry to warm: a value, or a factory that loads it. */
export type WarmEntry<T> =
  | { key: CacheKey; value: T; ttl?: Duration; tags?: readonly string[] }
  | { key: CacheKey; factory: () => T | Promise<T>; ttl?: Duration; tags?: readonly string[] }

/** Options of {@link Cache.warm}. */
export interface WarmOptions {
  /** Entries loaded at the same time. @default 8 */
  concurrency?: number
  /** Called after each entry (also emitted as the cache's `warmProgress` event). */
  onProgress?: (progress: WarmProgress) => void
}

/** Progress (and final result) of {@link Cache.warm}. */
export interface WarmProgress {
  /** Entries stored. */
  loaded: number
  /** Entries whose factory or write failed (logged, not thrown). */
  failed: number
}

/** Events a cache emits. */
export interface CacheEvents {
  warmProgress: [WarmProgress]
}

/** One entry of `setMany`. */
export interface CacheEntry<T> {
  key: CacheKey
  value: T
  /** Overrides the cache's ttl for this entry. */
  ttl?: Duration
  /** Tags of this entry (see `kit.invalidateTags`). */
  tags?: readonly string[]
}

/** An encoded entry: the stored text and the envelope times it carries (for the L1 copy). */
interface EncodedEntry {
  text: string
  createdAt: number
  freshUntil: number
  staleUntil: number
  tags: string
}

interface TaggedWrite {
  tags: string[]
  versions: string[]
  field: string
}

/** An entry as read from L2: the value and the times of its envelope. */
interface Found<T> {
  value: T
  createdAt: number
  freshUntil: number
  staleUntil: number
  tags: string
  size: number
}

const MISS: unique symbol = Symbol('miss')
/** Redis could not be asked (breaker open, timeout): not the same as a miss for grace. */
const UNAVAILABLE: unique symbol = Symbol('unavailable')
type Lookup<T> = Found<T> | typeof MISS | typeof UNAVAILABLE
type Read<T> = T | typeof MISS
const BUS_CHANNEL = 'cache'
const LOCK_POLL_MIN_MS = 20
const LOCK_POLL_MAX_MS = 200
// An empty payload can never be serializer output of a defined value: it marks a cached `undefined`.
const UNDEFINED_PAYLOAD = ''
const FOREVER = Number.MAX_SAFE_INTEGER
const DELETE_BATCH = 1000
const WARN_INTERVAL_MS = 1000

const RELEASE_LOCK_SCRIPT = {
  name: 'cache.releaseLock',
  lua: "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
  memory: (
    context: { get(key: string): string | null; del(key: string): number },
    keys: readonly string[],
    args: readonly string[],
  ) => (context.get(keys[0]!) === args[0] ? context.del(keys[0]!) : 0),
}

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
export class Cache<V = unknown> extends EventEmitter<CacheEvents> {
  /** The namespace given to `kit.cache`. */
  readonly namespace: string
  /** Every key of this cache starts with this. */
  readonly keyPrefix: string
  /**
   * The Cache-Control for HTTP responses built from this cache (its `cacheControl` option, or its tier's).
   * @example if (products.cacheControl) res.set('Cache-Control', products.cacheControl)
   */
  readonly cacheControl: string | undefined
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
  readonly #l1: L1Cache | undefined
  readonly #bus: FeatureContext['bus']
  readonly #lockPrefix: string

  /** @internal use `kit.cache()` */
  constructor(context: FeatureContext, namespace: string, options: CacheOptions = {}) {
    checkName(namespace, 'Cache namespace')
    super()
    this.namespace = namespace
    this.#options = resolveCacheOptions(namespace, options)
    this.cacheControl = this.#options.cacheControl
    this.#store = context.store
    this.#logger = context.logger
    this.#tags = context.tags
    this.keyPrefix = context.keys.scope('cache', namespace).prefix
    this.#batcher = readBatcherFor(this.#store)
    this.#store.defineScript(CAS_SCRIPT)
    this.#store.defineScript(RELEASE_LOCK_SCRIPT)
    this.#bus = context.bus
    this.#lockPrefix = context.keys.scope('lock', 'cache', namespace).prefix
    const l1Options = this.#options.l1
    if (l1Options) {
      const l1 = new L1Cache(l1Options)
      this.#l1 = l1
      // Other instances' writes drop our copies; our own messages are skipped by the bus.
      void this.#bus
        .subscribe<{ n?: string; k?: string[]; a?: 1 }>(BUS_CHANNEL, (message) => {
          if (message?.n !== namespace) return
          if (message.a === 1) l1.clear()
          else if (Array.isArray(message.k)) for (const key of message.k) l1.delete(key)
        })
        .catch((error: unknown) => {
          this.#logger.warn(
            { cache: namespace, error: errorMessage(error) },
            'redkit: cache bus subscription failed; L1 copies expire by their ttl only',
          )
        })
      // Messages may have been missed: nothing in L1 can be trusted as a hit any more.
      this.#bus.onReconnect(() => l1.clear())
      context.onAvailability((available) => (available ? l1.clear() : l1.suspectAll()))
    }
    context.registerMetrics('cache', namespace, () => ({
      ...this.#metrics.snapshot(),
      l1Size: this.#l1?.size ?? 0,
    }))
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

  /**
   * The cached value (fresh, or stale within the swr window), or `undefined` on a miss — including
   * when Redis is unavailable, unless strict.
   */
  get<T = V>(key: CacheKey): Promise<T | undefined> {
    const fullKey = this.keyOf(key)
    const l1 = this.#l1?.get(fullKey.slice(this.keyPrefix.length))
    if (l1 !== undefined) {
      const now = Date.now()
      if (
        now < l1.l1Until &&
        now < l1.staleUntil &&
        (l1.tags === '' || this.#tags().matches(l1.tags) === true)
      ) {
        this.#metrics.l1Hits++
        return Promise.resolve(this.#fromL1(l1.value) as T)
      }
    }
    const started = this.#sampleStart()
    return this.#read<T>(fullKey).then((found) => {
      if (started >= 0) this.#metrics.getLatency.add(performance.now() - started)
      if (typeof found !== 'object' || Date.now() >= found.staleUntil) {
        this.#metrics.misses++
        return undefined
      }
      this.#metrics.hits++
      this.#remember(fullKey, found)
      return found.value
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
    const staleUntil = ttlMs === 0 ? FOREVER : freshUntil + this.#options.swrMs
    const next = encodeEnvelope({ ...envelope, freshUntil, staleUntil })
    const reply = await this.#guard(
      this.#store.runScript(CAS_SCRIPT.name, [fullKey], [raw, next, this.#physicalTtl(ttlMs)]),
      0,
    )
    this.#l1?.delete(this.#relative(fullKey))
    this.#announce([fullKey])
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
    await this.#write(fullKey, encoded, ttlMs, tagged, 'set', { value })
  }

  /** Removes an entry; resolves whether it existed. */
  async delete(key: CacheKey): Promise<boolean> {
    const fullKey = this.keyOf(key)
    this.#l1?.delete(this.#relative(fullKey))
    const removed = await this.#guard(this.#store.del([fullKey]), 0, 'delete')
    this.#metrics.deletes += removed
    this.#announce([fullKey])
    return removed > 0
  }

  /**
   * The cached value, or the factory's value (stored, then returned) on a miss. Concurrent callers of
   * one missing key in this process share one factory call (across instances too with `lock`); a
   * factory error reaches each of them and nothing is cached. `undefined` is not cached unless
   * `cacheNullish`. Within `swr` a stale value is returned at once and refreshed in the background;
   * within `grace` a stale value stands in when the factory fails or Redis is unavailable.
   */
  getOrSet<T = V>(key: CacheKey, factory: CacheFactory<T>, options?: GetOrSetOptions): Promise<T> {
    // The L1 hit path, kept small so the engine optimizes it: no round trip, no parse, no allocation
    // beyond the resolved promise. Anything else (tags, stale copies, array keys) takes the full path.
    const l1 = this.#l1
    if (l1 !== undefined && typeof key === 'string') {
      const entry = l1.get(key)
      if (entry !== undefined && entry.tags === '') {
        const now = coarseNow()
        if (now < entry.freshUntil && now < entry.l1Until && typeof factory === 'function') {
          this.#metrics.l1Hits++
          if (this.#options.eagerRefresh !== undefined) {
            this.#eager(this.keyPrefix + key, entry, now, factory, options)
          }
          if (this.#options.clone) return Promise.resolve(this.#fromL1(entry.value) as T)
          // One settled promise per copy, shared by every hit: a hit allocates nothing.
          entry.resolved ??= Promise.resolve(entry.value)
          return entry.resolved as Promise<T>
        }
      }
    }
    return this.#getOrSet(key, factory, options)
  }

  #getOrSet<T>(key: CacheKey, factory: CacheFactory<T>, options?: GetOrSetOptions): Promise<T> {
    if (typeof factory !== 'function') {
      return Promise.reject(
        new InvalidOptionsError(`cache '${this.namespace}': getOrSet needs a factory function.`),
      )
    }
    let relativeKey: string
    try {
      relativeKey = typeof key === 'string' && key !== '' ? key : this.keyOf(key).slice(this.keyPrefix.length)
    } catch (error) {
      return Promise.reject(error)
    }
    const fullKey = this.keyPrefix + relativeKey
    if (this.#l1 !== undefined) {
      // The L1 hit path: no round trip, no parse, no allocation beyond the resolved promise.
      const entry = this.#l1.get(relativeKey)
      if (entry !== undefined) {
        const now = Date.now()
        if (now < entry.l1Until && (entry.tags === '' || this.#tags().matches(entry.tags) === true)) {
          if (now < entry.freshUntil) {
            this.#metrics.l1Hits++
            if (this.#options.eagerRefresh !== undefined) this.#eager(fullKey, entry, now, factory, options)
            return Promise.resolve(this.#fromL1(entry.value) as T)
          }
          if (now < entry.staleUntil) {
            this.#metrics.l1Hits++
            this.#metrics.staleHits++
            this.#refresh(fullKey, factory, options, entry as unknown as Found<T>)
            return Promise.resolve(this.#fromL1(entry.value) as T)
          }
        }
      }
    }
    if (this.#flights.has(fullKey))
      return this.#join<T>(fullKey, factory, options, this.#fallback<T>(fullKey))
    const epoch = this.#flightEpoch
    const started = this.#sampleStart()
    return this.#read<T>(fullKey).then((found) => {
      if (started >= 0) this.#metrics.getLatency.add(performance.now() - started)
      return this.#settle(fullKey, found, factory, options, epoch)
    })
  }

  /** Decides what getOrSet returns for what L2 gave. */
  #settle<T>(
    fullKey: string,
    found: Lookup<T>,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
    epoch: number,
  ): T | Promise<T> {
    const now = Date.now()
    if (typeof found === 'object') {
      if (now < found.freshUntil) {
        this.#metrics.hits++
        this.#remember(fullKey, found)
        if (this.#options.eagerRefresh !== undefined) this.#eager(fullKey, found, now, factory, options)
        return found.value
      }
      if (now < found.staleUntil) {
        this.#metrics.hits++
        this.#metrics.staleHits++
        this.#remember(fullKey, found)
        this.#refresh(fullKey, factory, options, found)
        return found.value
      }
    }
    this.#metrics.misses++
    // Expired but within grace (from L2, or the last copy in L1 when Redis is unreachable).
    const fallback = typeof found === 'object' ? this.#withinGrace(found, now) : this.#fallback<T>(fullKey)
    if (found === UNAVAILABLE && fallback !== undefined) {
      // Redis is down: serve the last value rather than sending every request to the database.
      this.#metrics.graceHits++
      return fallback.value
    }
    if (found === MISS && epoch !== this.#flightEpoch && !this.#flights.has(fullKey)) {
      // A flight finished while this read was in flight; its value may have landed after our GET.
      return this.#read<T>(fullKey).then((again) =>
        typeof again === 'object' && Date.now() < again.freshUntil
          ? again.value
          : this.#join(fullKey, factory, options, fallback),
      )
    }
    return this.#join(fullKey, factory, options, fallback)
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
    const now = Date.now()
    return results.map((result, i) => {
      if (typeof result !== 'object' || now >= result.staleUntil) {
        this.#metrics.misses++
        return undefined
      }
      this.#metrics.hits++
      this.#remember(fullKeys[i]!, result)
      return result.value
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
          : {
              key,
              value: (await this.#encode(key, entry.value, ttlMs, tagged?.field)).text,
              ttlMs: this.#physicalTtl(ttlMs),
              tagged,
            }
      }),
    )
    const writable = prepared.filter((entry) => entry !== undefined)
    for (const entry of writable) this.#l1?.delete(this.#relative(entry.key))
    await this.#guard(this.#store.mset(writable), undefined, 'setMany')
    this.#metrics.sets += writable.length
    this.#announce(writable.map((entry) => entry.key))
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
    const fullKeys = keys.map((key) => this.keyOf(key))
    for (const fullKey of fullKeys) this.#l1?.delete(this.#relative(fullKey))
    const removed = await this.#guard(this.#store.del(fullKeys), 0, 'deleteMany')
    this.#metrics.deletes += removed
    this.#announce(fullKeys)
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
    this.#l1?.clear()
    this.#announce(undefined)
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

  /**
   * Loads entries at startup (reference data): values are stored as given, factories are called,
   * `concurrency` at a time. Failures are logged and counted, never thrown; progress is reported through
   * `onProgress` and the `warmProgress` event. Resolves with the totals.
   * @example await zones.warm(db.zones().map((z) => ({ key: ['zone', z.id], value: z })), { concurrency: 16 })
   */
  async warm<T = V>(
    source: Iterable<WarmEntry<T>> | AsyncIterable<WarmEntry<T>>,
    options: WarmOptions = {},
  ): Promise<WarmProgress> {
    const concurrency = options.concurrency ?? 8
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidOptionsError(`cache '${this.namespace}': warm concurrency must be an integer >= 1.`)
    }
    const progress: WarmProgress = { loaded: 0, failed: 0 }
    const iterator = (
      Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()
    ) as AsyncIterator<WarmEntry<T>> | Iterator<WarmEntry<T>>
    const report = () => {
      const snapshot = { ...progress }
      options.onProgress?.(snapshot)
      this.emit('warmProgress', snapshot)
    }
    const worker = async (): Promise<void> => {
      for (;;) {
        const next = await iterator.next()
        if (next.done) return
        const entry = next.value
        try {
          const value = 'factory' in entry ? await entry.factory() : entry.value
          await this.set(entry.key, value, { ttl: entry.ttl, tags: entry.tags })
          progress.loaded++
        } catch (error) {
          progress.failed++
          this.#logger.warn(
            { cache: this.namespace, error: errorMessage(error) },
            'redkit: cache warm entry failed',
          )
        }
        report()
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    return progress
  }

  #join<T>(
    fullKey: string,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
    fallback: Found<T> | undefined,
  ): Promise<T> {
    return this.#flights.run(fullKey, () =>
      this.#produce(fullKey, factory, options, fallback).finally(() => {
        this.#flightEpoch++
      }),
    ) as Promise<T>
  }

  /** A background refresh (swr, eager refresh): one per key per process, errors counted, never thrown. */
  #refresh<T>(
    fullKey: string,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
    current: Found<T>,
  ): void {
    if (this.#flights.has(fullKey)) return
    this.#metrics.refreshes++
    this.#join(fullKey, factory, options, current).catch((error: unknown) => {
      this.#metrics.refreshErrors++
      this.#logger.warn(
        {
          cache: this.namespace,
          key: fullKey,
          error: errorMessage(error),
        },
        'redkit: background cache refresh failed; the stale value stays until it expires',
      )
    })
  }

  /** Eager refresh: a hit in the last part of the fresh period refreshes in the background. */
  #eager<T>(
    fullKey: string,
    entry: { createdAt: number; freshUntil: number; value: unknown },
    now: number,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
  ): void {
    const eager = this.#options.eagerRefresh!
    if (now < entry.createdAt + eager * (entry.freshUntil - entry.createdAt)) return
    this.#refresh(fullKey, factory, options, entry as Found<T>)
  }

  async #produce<T>(
    fullKey: string,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
    fallback: Found<T> | undefined,
  ): Promise<T> {
    const lock = this.#options.lock
    if (!lock) return this.#build(fullKey, factory, options, fallback)
    const lockKey = this.#lockPrefix + fullKey.slice(this.keyPrefix.length)
    const token = randomBytes(9).toString('base64url')
    const deadline = Date.now() + lock.waitMs
    let pause = LOCK_POLL_MIN_MS
    for (;;) {
      let acquired: boolean | undefined
      try {
        acquired = await this.#store.set(lockKey, token, { ttlMs: lock.ttlMs, condition: 'NX' })
      } catch {
        acquired = undefined // Redis unavailable: no coordination possible, build it here
      }
      if (acquired !== false) {
        try {
          if (acquired) {
            // The holder before us may have stored the value after our read missed and released the
            // lock before we asked for it: read again, so its value is not built a second time.
            const fresh = await this.#readFresh<T>(fullKey)
            if (fresh) return fresh.value
          }
          return await this.#build(fullKey, factory, options, fallback)
        } finally {
          if (acquired) this.#store.runScript(RELEASE_LOCK_SCRIPT.name, [lockKey], [token]).catch(() => {})
        }
      }
      // Another instance is building it: wait for its value, or for the lock to go (holder done or dead).
      this.#metrics.lockWaits++
      await new Promise((resolve) => setTimeout(resolve, pause))
      pause = Math.min(LOCK_POLL_MAX_MS, pause * 2)
      const fresh = await this.#readFresh<T>(fullKey)
      if (fresh) return fresh.value
      if (Date.now() >= deadline) return this.#build(fullKey, factory, options, fallback)
    }
  }

  /** Runs the factory with its timeouts, stores the value, and applies the fallback rules. */
  async #build<T>(
    fullKey: string,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
    fallback: Found<T> | undefined,
  ): Promise<T> {
    const ttlMs = this.#ttlOf(options?.ttl)
    // Versions are read BEFORE the factory runs: an invalidation during a slow factory makes the
    // entry born stale instead of serving data built from before the invalidation.
    const tagged = await this.#tagsOf(options?.tags)
    this.#metrics.factoryCalls++
    const controller = new AbortController()
    const run = (async () => factory({ signal: controller.signal, stale: fallback?.value }))()
    const stored = run.then(async (value) => {
      if (controller.signal.aborted) return value
      if (value === undefined && !(options?.cacheNullish ?? this.#options.cacheNullish)) return value
      if (tagged === null) return value
      const encoded = await this.#encode(fullKey, value, ttlMs, tagged?.field)
      await this.#write(fullKey, encoded, ttlMs, tagged, 'getOrSet', { value })
      return value
    })
    const { softTimeoutMs, hardTimeoutMs } = this.#options
    if (softTimeoutMs === undefined && hardTimeoutMs === undefined) {
      return stored.catch((error: unknown) => this.#failSafe(fullKey, error, fallback))
    }
    const timers: NodeJS.Timeout[] = []
    const outcome = new Promise<T>((resolve, reject) => {
      stored.then(resolve, (error: unknown) => {
        try {
          resolve(this.#failSafe(fullKey, error, fallback))
        } catch (failure) {
          reject(failure)
        }
      })
      if (softTimeoutMs !== undefined && fallback !== undefined) {
        timers.push(
          setTimeout(() => {
            // Slow factory with a stale value at hand: serve it; the factory still updates the cache.
            this.#metrics.timeouts++
            this.#metrics.staleHits++
            stored.catch(() => {})
            resolve(fallback.value)
          }, softTimeoutMs),
        )
      }
      if (hardTimeoutMs !== undefined) {
        timers.push(
          setTimeout(() => {
            this.#metrics.timeouts++
            controller.abort(new CacheFactoryTimeoutError(fullKey, hardTimeoutMs))
            stored.catch(() => {})
            if (fallback !== undefined && Date.now() < fallback.staleUntil + this.#options.graceMs) {
              this.#metrics.graceHits++
              resolve(fallback.value)
            } else reject(new CacheFactoryTimeoutError(fullKey, hardTimeoutMs))
          }, hardTimeoutMs),
        )
      }
    })
    return outcome.finally(() => {
      for (const timer of timers) clearTimeout(timer)
    })
  }

  /** A factory (or write) failed: serve the fallback within grace, else pass the error on. */
  #failSafe<T>(fullKey: string, error: unknown, fallback: Found<T> | undefined): T {
    if (
      fallback !== undefined &&
      this.#options.graceMs > 0 &&
      Date.now() < fallback.staleUntil + this.#options.graceMs
    ) {
      this.#metrics.graceHits++
      this.#logger.warn(
        {
          cache: this.namespace,
          key: fullKey,
          error: errorMessage(error),
        },
        'redkit: cache factory failed; serving the last value within grace',
      )
      return fallback.value
    }
    throw error
  }

  /** Writes an encoded entry, indexes it under its tags, keeps the L1 copy and tells other instances. */
  async #write(
    fullKey: string,
    encoded: EncodedEntry,
    ttlMs: number,
    tagged: TaggedWrite | undefined,
    operation: string,
    keep?: { value: unknown },
  ) {
    const physicalMs = this.#physicalTtl(ttlMs)
    this.#l1?.delete(this.#relative(fullKey))
    const write = this.#store.set(fullKey, encoded.text, physicalMs > 0 ? { ttlMs: physicalMs } : undefined)
    const index = tagged ? this.#tags().index(tagged.tags, tagged.versions, fullKey, physicalMs) : undefined
    if (await this.#guard(write, false, operation)) {
      this.#metrics.sets++
      if (keep !== undefined) {
        this.#remember(fullKey, {
          value: keep.value,
          createdAt: encoded.createdAt,
          freshUntil: encoded.freshUntil,
          staleUntil: encoded.staleUntil,
          tags: encoded.tags,
          size: encoded.text.length,
        })
      }
      this.#announce([fullKey])
    }
    if (index) await this.#guard(index, undefined, operation)
  }

  /** How long Redis keeps an entry: fresh + swr + grace. */
  #physicalTtl(ttlMs: number): number {
    return ttlMs === 0 ? 0 : ttlMs + this.#options.swrMs + this.#options.graceMs
  }

  /** Keeps an L1 copy of a value read or written (no-op without L1). */
  #remember(fullKey: string, found: Found<unknown>): void {
    const l1 = this.#l1
    if (l1 === undefined) return
    const l1Ttl = this.#options.l1!.ttlMs
    l1.set(
      this.#relative(fullKey),
      {
        value: found.value,
        createdAt: found.createdAt,
        freshUntil: found.freshUntil,
        staleUntil: found.staleUntil,
        l1Until: l1Ttl === 0 ? found.staleUntil : Math.min(found.staleUntil, Date.now() + l1Ttl),
        tags: found.tags,
      },
      found.size,
    )
  }

  /** A full store key relative to this cache (how L1 and bus messages name entries). */
  #relative(fullKey: string): string {
    return fullKey.slice(this.keyPrefix.length)
  }

  #fromL1(value: unknown): unknown {
    return this.#options.clone && value !== null && typeof value === 'object' ? structuredClone(value) : value
  }

  /** The last known value within grace, from L1 (any generation): the fail-safe when L2 cannot help. */
  #fallback<T>(fullKey: string): Found<T> | undefined {
    if (this.#options.graceMs === 0) return undefined
    const entry = this.#l1?.peekAny(this.#relative(fullKey))
    if (entry === undefined) return undefined
    return this.#withinGrace({ ...entry, size: 0 } as Found<T>, Date.now())
  }

  #withinGrace<T>(found: Found<T>, now: number): Found<T> | undefined {
    return this.#options.graceMs > 0 && now < found.staleUntil + this.#options.graceMs ? found : undefined
  }

  /** Tells other instances to drop their L1 copies (keys relative to this cache; undefined = all). */
  #announce(fullKeys: readonly string[] | undefined): void {
    if (this.#l1 === undefined) return
    const message =
      fullKeys === undefined
        ? { n: this.namespace, a: 1 }
        : { n: this.namespace, k: fullKeys.map((key) => key.slice(this.keyPrefix.length)) }
    this.#bus.publish(BUS_CHANNEL, message).catch((error: unknown) => {
      this.#logger.debug(
        { cache: this.namespace, error: errorMessage(error) },
        'redkit: cache bus message not sent; other instances flush L1 when Redis is back',
      )
    })
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

  /** Reads and decodes one key: what was found, MISS, or UNAVAILABLE. */
  /** The stored entry when it is fresh (kept in L1 too), else undefined. */
  async #readFresh<T>(fullKey: string): Promise<Found<T> | undefined> {
    const found = await this.#read<T>(fullKey)
    if (typeof found !== 'object' || Date.now() >= found.freshUntil) return undefined
    this.#remember(fullKey, found)
    return found
  }

  #read<T>(fullKey: string): Promise<Lookup<T>> {
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

  #readFailed(fullKey: string, error: unknown): typeof MISS | typeof UNAVAILABLE {
    if (error instanceof RedisUnavailableError) {
      this.#metrics.errors++
      if (this.#options.strict) throw error
      this.#logger.debug(
        { key: fullKey, error: error.message },
        'redkit: cache read failed, treated as a miss',
      )
      return UNAVAILABLE
    }
    // The store refused the command (e.g. WRONGTYPE: something else lives under our key).
    return this.#corrupt(fullKey, errorMessage(error))
  }

  /**
   * Decodes a stored envelope into what was found (any entry still within grace; callers judge
   * freshness). Corrupt data is deleted and read as MISS. Synchronous unless compressed or tag
   * versions must be fetched.
   */
  #decode<T>(fullKey: string, raw: string): Lookup<T> | Promise<Lookup<T>> {
    const envelope = decodeEnvelope(raw)
    if (!envelope) return this.#corrupt(fullKey, 'not a cache envelope')
    if (envelope.staleUntil + this.#options.graceMs <= Date.now()) return MISS
    if (envelope.tags !== '') {
      const current = this.#tags().matches(envelope.tags)
      if (current === false) return this.#invalidated(fullKey)
      if (current !== true) {
        return current.then(
          (ok) => (ok ? this.#found<T>(fullKey, envelope, raw.length) : this.#invalidated(fullKey)),
          (error: unknown) => this.#readFailed(fullKey, error),
        )
      }
    }
    return this.#found<T>(fullKey, envelope, raw.length)
  }

  #found<T>(fullKey: string, envelope: Envelope, size: number): Lookup<T> | Promise<Lookup<T>> {
    const value = this.#payload<T>(fullKey, envelope)
    const wrap = (read: Read<T>): Lookup<T> =>
      read === MISS
        ? MISS
        : {
            value: read,
            createdAt: envelope.createdAt,
            freshUntil: envelope.freshUntil,
            staleUntil: envelope.staleUntil,
            tags: envelope.tags,
            size,
          }
    return value instanceof Promise ? value.then(wrap) : wrap(value)
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

  async #encode(fullKey: string, value: unknown, ttlMs: number, tagsField = ''): Promise<EncodedEntry> {
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
    const staleUntil = ttlMs === 0 ? FOREVER : freshUntil + this.#options.swrMs
    const stored = encodeEnvelope({
      flags: { binary: bytes !== undefined, compression, tagged },
      createdAt: now,
      freshUntil,
      staleUntil,
      tags: tagsField,
      payload,
    })
    return { text: stored, createdAt: now, freshUntil, staleUntil, tags: tagsField }
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
