// A cache bound to one namespace: the public face over its read path, write path, getOrSet flow, batch
// operations, pattern deletes and warming, each in its own file. The L1 hit paths stay here, kept small.

import { EventEmitter } from 'node:events'
import { type Duration, parseDuration } from '../config/duration.js'
import { checkName } from '../config/validate.js'
import { InvalidOptionsError } from '../errors.js'
import type { FeatureContext } from '../feature-context.js'
import type { KeyPart } from '../keys/key-builder.js'
import {
  type CacheOutcome,
  type CacheTraceContext,
  cacheGetChannel,
  cacheGetOrSetChannel,
  cacheInvalidateChannel,
  cacheSetChannel,
  traceWithoutResult,
} from '../metrics/tracing-channels.js'
import { BatchOperations, type CacheEntry } from './batch-operations.js'
import { CacheCore } from './cache-core.js'
import { type CacheKey, cachePattern } from './cache-keys.js'
import type { CacheMetrics } from './cache-metrics.js'
import {
  type CacheOptions,
  type CacheSetOptions,
  type GetOrSetOptions,
  type ResolvedCacheOptions,
  resolveCacheOptions,
} from './cache-options.js'
import { coarseNow } from './coarse-clock.js'
import { deletePattern } from './delete-pattern.js'
import { EntryReader } from './entry-reader.js'
import { EntryWriter } from './entry-writer.js'
import { FOREVER } from './envelope.js'
import { type CacheFactory, GetOrSetFlow } from './get-or-set-flow.js'
import type { L1Cache, L1Entry } from './l1-cache.js'
import { type WarmEntry, type WarmOptions, type WarmProgress, warmCache } from './warm-cache.js'

/** The signal a factory of a cache that is off receives: nothing times it out. */
const NEVER_ABORTED = new AbortController().signal

export type { CacheEntry } from './batch-operations.js'
export type { CacheKey } from './cache-keys.js'
export type { CacheFactory } from './get-or-set-flow.js'
export type { WarmEntry, WarmOptions, WarmProgress } from './warm-cache.js'

/** What {@link Cache.getOrSetWithOutcome} resolves with: the value and how it was found. */
export interface CacheLookup<T> {
  value: T
  /** `hit`, `stale` (served within swr while it refreshes), `grace` (served past expiry) or `miss`. */
  outcome: CacheOutcome
}

/** Events a cache emits. */
export interface CacheEvents {
  warmProgress: [WarmProgress]
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
  readonly #core: CacheCore
  // Read straight from here by the hit paths, which must stay as short as they can be.
  readonly #l1: L1Cache | undefined
  readonly #metrics: CacheMetrics
  readonly #options: ResolvedCacheOptions
  readonly #reader: EntryReader
  readonly #writer: EntryWriter
  readonly #flow: GetOrSetFlow
  readonly #batch: BatchOperations
  /** Undefined when the cache is always on: the hot paths then pay one comparison. */
  readonly #enabled: (() => boolean) | undefined
  /** The kit's key prefix, for trace contexts. */
  readonly #kitPrefix: string

  /** @internal use `kit.cache()` */
  constructor(context: FeatureContext, namespace: string, options: CacheOptions = {}) {
    checkName(namespace, 'Cache namespace')
    super()
    this.namespace = namespace
    const core = new CacheCore(context, namespace, resolveCacheOptions(namespace, options))
    this.#core = core
    this.cacheControl = core.options.cacheControl
    this.keyPrefix = core.keyPrefix
    this.#l1 = core.l1
    this.#metrics = core.metrics
    this.#options = core.options
    this.#reader = new EntryReader(core)
    this.#writer = new EntryWriter(core, this.#reader)
    this.#flow = new GetOrSetFlow(
      core,
      this.#reader,
      this.#writer,
      context.keys.scope('lock', 'cache', namespace).prefix,
    )
    this.#batch = new BatchOperations(core, this.#reader, this.#writer)
    this.#enabled = core.options.enabled
    this.#kitPrefix = context.keys.prefix
    context.registerMetrics('cache', namespace, () => ({
      ...core.metrics.snapshot(this.#isOn()),
      l1Size: core.l1?.size ?? 0,
      l1Bytes: core.l1?.bytes ?? 0,
      pendingDeletes: core.pendingDeletes.size,
    }))
  }

  /** The full store key of a cache key. */
  keyOf(key: CacheKey): string {
    return this.#core.keyOf(key)
  }

  /** Whether the cache is on now (its `enabled` option). */
  get enabled(): boolean {
    return this.#isOn()
  }

  #isOn(): boolean {
    const enabled = this.#enabled
    return enabled === undefined || enabled()
  }

  /** Counts a call made while the cache is off; true when it is off. */
  #bypass(): boolean {
    if (this.#isOn()) return false
    this.#metrics.bypassed++
    return true
  }

  /**
   * A glob for {@link deletePattern}, relative to this cache: the parts are escaped so user input matches
   * only itself, then `glob` is appended.
   * @example products.deletePattern(products.pattern(['user', userId])) // 'user:<escaped id>:*'
   */
  pattern(parts: readonly KeyPart[], glob = '*'): string {
    return cachePattern(parts, glob)
  }

  /**
   * The cached value (fresh, or stale within the swr window), or `undefined` on a miss — including
   * when Redis is unavailable, unless strict.
   */
  get<T = V>(key: CacheKey): Promise<T | undefined> {
    // A property read when nobody listens; the traced twin below when someone does.
    if (cacheGetChannel.hasSubscribers) return this.#tracedGet<T>(key)
    const core = this.#core
    const fullKey = core.keyOf(key)
    if (this.#enabled !== undefined && this.#bypass()) return Promise.resolve(undefined)
    const copy = this.#servableCopy(fullKey)
    if (copy !== undefined) {
      this.#metrics.l1Hits++
      return Promise.resolve(core.fromL1(copy.value) as T)
    }
    return this.#readThrough<T>(fullKey, undefined)
  }

  /** {@link get} past L1: the store read; `trace` (a traced call only) receives the outcome. */
  #readThrough<T>(fullKey: string, trace: CacheTraceContext | undefined): Promise<T | undefined> {
    const core = this.#core
    const started = core.sampleStart()
    return this.#reader.read<T>(fullKey).then((found) => {
      if (started >= 0) this.#metrics.getLatency.add(performance.now() - started)
      if (typeof found !== 'object' || Date.now() >= found.staleUntil) {
        this.#metrics.misses++
        if (trace) trace.outcome = 'miss'
        return undefined
      }
      this.#metrics.hits++
      if (trace) trace.outcome = Date.now() < found.freshUntil ? 'hit' : 'stale'
      core.remember(fullKey, found)
      return found.value
    })
  }

  /** {@link get} published on `redkit:cache:get`. */
  #tracedGet<T>(key: CacheKey): Promise<T | undefined> {
    const core = this.#core
    const fullKey = core.keyOf(key)
    const context = this.#traceContext(core.relative(fullKey))
    return traceWithoutResult(cacheGetChannel, context, () => {
      if (this.#enabled !== undefined && this.#bypass()) {
        context.outcome = 'miss'
        return Promise.resolve(undefined)
      }
      const copy = this.#servableCopy(fullKey)
      if (copy !== undefined) {
        this.#metrics.l1Hits++
        context.outcome = Date.now() < copy.freshUntil ? 'hit' : 'stale'
        context.l1 = true
        return Promise.resolve(core.fromL1(copy.value) as T)
      }
      return this.#readThrough<T>(fullKey, context)
    })
  }

  #traceContext(key: string): CacheTraceContext {
    return { prefix: this.#kitPrefix, namespace: this.namespace, key }
  }

  /**
   * Whether {@link get} would find an entry: fresh, or stale within the swr window (a cached `undefined`
   * counts). An entry invalidated by a tag, expired, or kept only as a grace fallback does not exist.
   */
  async has(key: CacheKey): Promise<boolean> {
    if (this.#enabled !== undefined && this.#bypass()) return false
    return (await this.#served(this.keyOf(key))) !== undefined
  }

  /**
   * Milliseconds until the entry stops being fresh: `0` once stale (still served within swr), `Infinity`
   * without expiry, `undefined` when {@link get} would miss (see {@link has}).
   */
  async ttl(key: CacheKey): Promise<number | undefined> {
    if (this.#enabled !== undefined && this.#bypass()) return undefined
    const entry = await this.#served(this.keyOf(key))
    if (entry === undefined) return undefined
    if (entry.freshUntil === FOREVER) return Number.POSITIVE_INFINITY
    return Math.max(0, entry.freshUntil - Date.now())
  }

  /** The L1 copy {@link get} would serve for a key: current, within the L1 ttl and swr, tags still valid. */
  #servableCopy(fullKey: string): L1Entry | undefined {
    const copy = this.#l1?.get(fullKey.slice(this.keyPrefix.length))
    if (copy === undefined) return undefined
    const now = Date.now()
    return now < copy.l1Until &&
      now < copy.staleUntil &&
      (copy.tags === '' || this.#core.tags().matches(copy.tags) === true)
      ? copy
      : undefined
  }

  /** The times of the entry {@link get} would serve (L1 copy or store), or undefined when it would miss. */
  async #served(fullKey: string): Promise<{ freshUntil: number; staleUntil: number } | undefined> {
    const copy = this.#servableCopy(fullKey)
    if (copy !== undefined) return copy
    const found = await this.#reader.read(fullKey)
    return typeof found === 'object' && Date.now() < found.staleUntil ? found : undefined
  }

  /**
   * Gives an existing entry a new time to live from now, without rewriting its value.
   * Resolves `false` when the entry is missing, as {@link has} sees it (an entry invalidated by a tag or
   * past its swr window is not revived), or was replaced meanwhile.
   */
  async expire(key: CacheKey, ttl: Duration): Promise<boolean> {
    const ttlMs = parseDuration(ttl, `cache '${this.namespace}' expire ttl`)
    if (this.#enabled !== undefined && this.#bypass()) return false
    return this.#writer.expire(this.keyOf(key), ttlMs)
  }

  /**
   * Stores a value.
   * @throws CacheSerializationError when the value cannot be serialized
   * @throws CacheValueTooLargeError when it is larger than `maxSize` (nothing is stored)
   */
  async set<T = V>(key: CacheKey, value: T, options?: CacheSetOptions): Promise<void> {
    if (this.#enabled !== undefined && this.#bypass()) return
    const fullKey = this.keyOf(key)
    if (cacheSetChannel.hasSubscribers) {
      const context = this.#traceContext(this.#core.relative(fullKey))
      return cacheSetChannel.tracePromise(() => this.#writer.set(fullKey, value, options), context)
    }
    return this.#writer.set(fullKey, value, options)
  }

  /** Removes an entry; resolves whether it existed. Published on `redkit:cache:invalidate`. */
  async delete(key: CacheKey): Promise<boolean> {
    const fullKey = this.keyOf(key)
    if (cacheInvalidateChannel.hasSubscribers) {
      const context = {
        prefix: this.#kitPrefix,
        kind: 'delete' as const,
        namespace: this.namespace,
        key: this.#core.relative(fullKey),
        existed: undefined as boolean | undefined,
      }
      return cacheInvalidateChannel.tracePromise(async () => {
        context.existed = await this.#writer.delete(fullKey)
        return context.existed
      }, context)
    }
    return this.#writer.delete(fullKey)
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
    // Tracing costs it one property read while nobody subscribes to `redkit:cache:getOrSet`.
    if (cacheGetOrSetChannel.hasSubscribers) return this.#tracedGetOrSet(key, factory, options)
    if (this.#enabled !== undefined && this.#bypass()) return this.#uncached(factory)
    const l1 = this.#l1
    if (l1 !== undefined && typeof key === 'string') {
      const entry = l1.get(key)
      if (entry !== undefined && entry.tags === '') {
        const now = coarseNow()
        if (now < entry.freshUntil && now < entry.l1Until && typeof factory === 'function') {
          this.#metrics.l1Hits++
          if (this.#options.eagerRefresh !== undefined) {
            this.#flow.eager(this.keyPrefix + key, entry, now, factory, options)
          }
          if (this.#options.clone) return Promise.resolve(this.#core.fromL1(entry.value) as T)
          // One settled promise per copy, shared by every hit: a hit allocates nothing.
          entry.resolved ??= Promise.resolve(entry.value)
          return entry.resolved as Promise<T>
        }
      }
    }
    return this.#flow.run(key, factory, options)
  }

  /** {@link getOrSet} published on `redkit:cache:getOrSet`; the flow's own L1 path answers hits. */
  #tracedGetOrSet<T>(key: CacheKey, factory: CacheFactory<T>, options?: GetOrSetOptions): Promise<T> {
    let relative = ''
    try {
      relative = typeof key === 'string' && key !== '' ? key : this.#core.relative(this.#core.keyOf(key))
    } catch {
      // An invalid key: the flow rejects with the reason, and the trace shows that error.
    }
    const context = this.#traceContext(relative)
    return traceWithoutResult(cacheGetOrSetChannel, context, () => {
      if (this.#enabled !== undefined && this.#bypass()) {
        context.outcome = 'miss'
        return this.#uncached(factory)
      }
      return this.#flow.run(key, factory, options, context)
    })
  }

  /**
   * {@link getOrSet}, resolving with how the value was found as well: `hit` (fresh), `stale` (within
   * swr; a background refresh runs, and its factory call gets `background: true`), `grace` (past its
   * expiry, served because Redis or the factory failed) or `miss` (this call's factory ran, or it shared
   * one already running). For callers that report it, such as the `X-Cache` header of `cacheResponse`.
   * @example
   * const { value, outcome } = await products.getOrSetWithOutcome(['product', id], () => db.product(id))
   * res.set('X-Cache', outcome === 'hit' ? 'HIT' : 'MISS').json(value)
   */
  getOrSetWithOutcome<T = V>(
    key: CacheKey,
    factory: CacheFactory<T>,
    options?: GetOrSetOptions,
  ): Promise<CacheLookup<T>> {
    if (this.#enabled !== undefined && this.#bypass()) {
      return this.#uncached(factory).then((value) => ({ value, outcome: 'miss' as const }))
    }
    // The same L1 hit path as getOrSet's, answering with a new object (callers may keep it).
    const l1 = this.#l1
    if (l1 !== undefined && typeof key === 'string' && !cacheGetOrSetChannel.hasSubscribers) {
      const entry = l1.get(key)
      if (entry !== undefined && entry.tags === '') {
        const now = coarseNow()
        if (now < entry.freshUntil && now < entry.l1Until && typeof factory === 'function') {
          this.#metrics.l1Hits++
          if (this.#options.eagerRefresh !== undefined) {
            this.#flow.eager(this.keyPrefix + key, entry, now, factory, options)
          }
          return Promise.resolve({ value: this.#core.fromL1(entry.value) as T, outcome: 'hit' })
        }
      }
    }
    const traced = cacheGetOrSetChannel.hasSubscribers
    let relative = typeof key === 'string' ? key : ''
    if (traced && relative === '') {
      try {
        relative = this.#core.relative(this.#core.keyOf(key))
      } catch {
        // An invalid key: the flow rejects with the reason.
      }
    }
    // The flow fills in the outcome; when traced, the same context is what subscribers see.
    const context = this.#traceContext(relative)
    const run = () => this.#flow.run(key, factory, options, context)
    const value = traced ? traceWithoutResult(cacheGetOrSetChannel, context, run) : run()
    return value.then((found) => ({ value: found, outcome: context.outcome ?? 'miss' }))
  }

  /** The factory's value for a cache that is off: a plain call, counted, nothing read or stored. */
  #uncached<T>(factory: CacheFactory<T>): Promise<T> {
    if (typeof factory !== 'function') {
      return Promise.reject(
        new InvalidOptionsError(`cache '${this.namespace}': getOrSet needs a factory function.`),
      )
    }
    this.#metrics.factoryCalls++
    return (async () => factory({ signal: NEVER_ABORTED, stale: undefined, background: false }))()
  }

  /** Values of many keys, in order (`undefined` for misses). One round trip per node. */
  getMany<T = V>(keys: readonly CacheKey[]): Promise<(T | undefined)[]> {
    if (this.#enabled !== undefined && this.#bypass()) return Promise.resolve(keys.map(() => undefined))
    return this.#batch.getMany<T>(keys)
  }

  /** Stores many values, each with its own ttl. One round trip per node. */
  setMany<T = V>(entries: readonly CacheEntry<T>[]): Promise<void> {
    if (this.#enabled !== undefined && this.#bypass()) return Promise.resolve()
    return this.#batch.setMany(entries)
  }

  /** Removes many entries; resolves how many existed. */
  deleteMany(keys: readonly CacheKey[]): Promise<number> {
    return this.#batch.deleteMany(keys)
  }

  /**
   * Removes every entry of this cache whose key (relative to the cache) matches a glob, walking every
   * master with SCAN (COUNT 1000) and deleting with UNLINK in batches of 1000 — never KEYS.
   * Use {@link pattern} to build the glob from user input safely. Resolves how many keys were removed.
   * @example await products.deletePattern('product:*')
   */
  deletePattern(glob: string): Promise<number> {
    return deletePattern(this.#core, glob)
  }

  /** Removes every entry of this cache (SCAN + UNLINK, like {@link deletePattern}). */
  clear(): Promise<number> {
    return this.deletePattern('*')
  }

  /**
   * Invalidates tags, the same as `kit.invalidateTags`: tags belong to the kit, so entries of every cache
   * carrying one of them become misses, on every instance. For code that holds a cache but not the kit.
   * @throws RedisUnavailableError when Redis cannot be reached (nothing was invalidated)
   * @example await orders.invalidateTags([`company:${companyId}:orders`])
   */
  invalidateTags(tags: readonly string[]): Promise<void> {
    return this.#core.tags().invalidate(tags)
  }

  /**
   * Loads entries at startup (reference data): values are stored as given, factories are called,
   * `concurrency` at a time. Failures are logged and counted, never thrown; progress is reported through
   * `onProgress` and the `warmProgress` event. Resolves with the totals.
   * @example await zones.warm(db.zones().map((z) => ({ key: ['zone', z.id], value: z })), { concurrency: 16 })
   */
  warm<T = V>(
    source: Iterable<WarmEntry<T>> | AsyncIterable<WarmEntry<T>>,
    options: WarmOptions = {},
  ): Promise<WarmProgress> {
    return warmCache<T>(
      {
        namespace: this.namespace,
        logger: this.#core.logger,
        set: (key, value, setOptions) => this.set(key, value, setOptions),
        progress: (progress) => this.emit('warmProgress', progress),
      },
      source,
      options,
    )
  }
}
