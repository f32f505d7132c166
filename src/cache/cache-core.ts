// What every part of one cache shares: its namespace, keys, resolved options, store, L1 tier and counters,
// and the one rule for a store that fails (count it, warn at most once a second, or throw when strict).

import { type Duration, parseDuration } from '../config/duration.js'
import { RedisOutOfMemoryError, RedisUnavailableError } from '../errors.js'
import type { FeatureContext } from '../feature-context.js'
import type { Logger } from '../logger.js'
import { ThrottledWarning } from '../logging/throttled-warning.js'
import type { Store } from '../store/store.js'
import { type CacheKey, cacheKeyOf } from './cache-keys.js'
import { CacheMetrics } from './cache-metrics.js'
import type { ResolvedCacheOptions } from './cache-options.js'
import type { Found } from './entry-reader.js'
import { L1Cache } from './l1-cache.js'
import { L1Sync } from './l1-sync.js'
import { PendingDeletes } from './pending-deletes.js'
import type { TagVersions } from './tags/tag-versions.js'

/** Internal state of one cache, handed to its read path, write path and flows. */
export class CacheCore {
  readonly namespace: string
  /** Every store key of this cache starts with this. */
  readonly keyPrefix: string
  readonly options: ResolvedCacheOptions
  readonly store: Store
  readonly logger: Logger
  /** The instance's tag versions (created on first use). */
  readonly tags: () => TagVersions
  readonly metrics = new CacheMetrics()
  /** The in-process tier, when the `l1` option is on. */
  readonly l1: L1Cache | undefined
  readonly #sync: L1Sync | undefined
  /** Store failures are logged once a second at most: during an outage every call fails. */
  readonly #unavailable: ThrottledWarning
  readonly #full: ThrottledWarning
  /** Deletes that failed while Redis was away, sent again once it answers. */
  readonly pendingDeletes: PendingDeletes
  #reads = 0

  constructor(context: FeatureContext, namespace: string, options: ResolvedCacheOptions) {
    this.namespace = namespace
    this.options = options
    this.store = context.store
    this.logger = context.logger
    this.tags = context.tags
    this.keyPrefix = context.keys.scope('cache', options.keySegment).prefix
    this.#unavailable = new ThrottledWarning(context.logger, 'redkit: cache write skipped, Redis unavailable')
    this.#full = new ThrottledWarning(context.logger, 'redkit: cache write refused, Redis is out of memory')
    this.pendingDeletes = new PendingDeletes(context.store, context.logger, namespace, (keys) =>
      this.announce(keys),
    )
    context.onAvailability((available) => {
      if (available) void this.pendingDeletes.replay()
    })
    context.onClose(() => this.pendingDeletes.close())
    if (options.l1) {
      this.l1 = new L1Cache(options.l1)
      this.#sync = new L1Sync(context, namespace)
      this.#sync.listen(this.l1)
    }
  }

  /** The full store key of a cache key. */
  keyOf(key: CacheKey): string {
    return cacheKeyOf(this.keyPrefix, this.namespace, key)
  }

  /** A full store key relative to this cache (how L1 and bus messages name entries). */
  relative(fullKey: string): string {
    return fullKey.slice(this.keyPrefix.length)
  }

  /** Keeps an L1 copy of a value read or written (no-op without L1). */
  remember(fullKey: string, found: Found<unknown>): void {
    const l1 = this.l1
    if (l1 === undefined) return
    const l1Ttl = this.options.l1!.ttlMs
    l1.set(
      this.relative(fullKey),
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

  /** An L1 value as handed to callers: a structured clone with `clone`, else the shared instance. */
  fromL1(value: unknown): unknown {
    return this.options.clone && value !== null && typeof value === 'object' ? structuredClone(value) : value
  }

  /** Tells other instances to drop their L1 copies (full store keys; undefined = all). No-op without L1. */
  announce(fullKeys: readonly string[] | undefined): void {
    if (this.#sync === undefined) return
    this.#sync.announce(fullKeys?.map((key) => this.relative(key)))
  }

  /** The ttl of a call in ms: the one given, else the cache's. */
  ttlOf(ttl: Duration | undefined): number {
    return ttl === undefined ? this.options.ttlMs : parseDuration(ttl, `cache '${this.namespace}' ttl`)
  }

  /** How long Redis keeps an entry: fresh + swr + grace. */
  physicalTtl(ttlMs: number): number {
    return ttlMs === 0 ? 0 : ttlMs + this.options.swrMs + this.options.graceMs
  }

  /** Start time of a read whose latency is sampled (one in 8: unbiased, and cheap on the hot path), else -1. */
  sampleStart(): number {
    return (++this.#reads & 7) === 0 ? performance.now() : -1
  }

  /**
   * Awaits a store call; when Redis is unavailable or full, counts, logs and returns `fallback` (or throws
   * when strict).
   */
  async guard<T, F>(call: Promise<T>, fallback: F, operation?: string): Promise<T | F> {
    try {
      return await call
    } catch (error) {
      this.storeFailed(operation ?? 'read', error)
      return fallback
    }
  }

  /**
   * A store call failed: rethrows anything but unavailability and out-of-memory refusals (those too when
   * strict); else counts and warns, once per interval. A full Redis still serves reads, and the value a
   * factory computed is still the caller's: a refused write must not fail a read-through.
   */
  storeFailed(operation: string, error: unknown): void {
    const full = error instanceof RedisOutOfMemoryError
    if (!full && !(error instanceof RedisUnavailableError)) throw error
    this.metrics.errors++
    if (full) this.metrics.refusedWrites++
    if (this.options.strict) throw error
    const warning = full ? this.#full : this.#unavailable
    warning.warn({ cache: this.namespace, operation, error: (error as Error).message })
  }
}
