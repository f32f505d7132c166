// getOrSet past the hot L1 hit: single flight per key, stale-while-revalidate and eager refresh in the
// background, the distributed lock, factory soft/hard timeouts, and grace when the factory or Redis fails.

import { CacheFactoryTimeoutError, errorMessage, InvalidOptionsError } from '../errors.js'
import type { CacheTraceContext } from '../metrics/tracing-channels.js'
import type { CacheCore } from './cache-core.js'
import type { CacheKey } from './cache-keys.js'
import { CacheLock } from './cache-lock.js'
import { checkCallOptions, type FactoryContext, type GetOrSetOptions } from './cache-options.js'
import { type EntryReader, type Found, type Lookup, MISS, UNAVAILABLE } from './entry-reader.js'
import type { EntryWriter } from './entry-writer.js'
import { SingleFlight } from './single-flight.js'

/** A getOrSet factory: computes the value on a miss. It may use the abort signal and the stale value. */
export type CacheFactory<T> = (context: FactoryContext<T>) => T | Promise<T>

/** The getOrSet logic of one cache. */
export class GetOrSetFlow {
  readonly #core: CacheCore
  readonly #reader: EntryReader
  readonly #writer: EntryWriter
  readonly #lock: CacheLock | undefined
  readonly #flights = new SingleFlight<unknown>()
  /** Bumped whenever a getOrSet flight finishes: a read that overlapped one re-reads before producing. */
  #flightEpoch = 0

  constructor(core: CacheCore, reader: EntryReader, writer: EntryWriter, lockPrefix: string) {
    this.#core = core
    this.#reader = reader
    this.#writer = writer
    const lock = core.options.lock
    this.#lock = lock ? new CacheLock(core, reader, lockPrefix, lock) : undefined
  }

  /**
   * getOrSet for what the hot L1 path of `Cache.getOrSet` did not answer. `trace` (a traced call only)
   * receives the outcome.
   */
  run<T>(
    key: CacheKey,
    factory: CacheFactory<T>,
    options?: GetOrSetOptions,
    trace?: CacheTraceContext,
  ): Promise<T> {
    const core = this.#core
    if (typeof factory !== 'function') {
      return Promise.reject(
        new InvalidOptionsError(`cache '${core.namespace}': getOrSet needs a factory function.`),
      )
    }
    let fullKey: string
    try {
      checkCallOptions(core.namespace, 'getOrSet', options)
      fullKey = typeof key === 'string' && key !== '' ? core.keyPrefix + key : core.keyOf(key)
    } catch (error) {
      return Promise.reject(error)
    }
    if (core.l1 !== undefined) {
      // The L1 hit path: no round trip, no parse, no allocation beyond the resolved promise.
      const entry = core.l1.get(typeof key === 'string' && key !== '' ? key : core.relative(fullKey))
      if (entry !== undefined) {
        const now = Date.now()
        if (now < entry.l1Until && (entry.tags === '' || core.tags().matches(entry.tags) === true)) {
          if (now < entry.freshUntil) {
            core.metrics.l1Hits++
            if (trace) {
              trace.outcome = 'hit'
              trace.l1 = true
            }
            if (core.options.eagerRefresh !== undefined) this.eager(fullKey, entry, now, factory, options)
            return Promise.resolve(core.fromL1(entry.value) as T)
          }
          if (now < entry.staleUntil) {
            core.metrics.l1Hits++
            core.metrics.staleHits++
            if (trace) {
              trace.outcome = 'stale'
              trace.l1 = true
            }
            this.#refresh(fullKey, factory, options, entry as unknown as Found<T>)
            return Promise.resolve(core.fromL1(entry.value) as T)
          }
        }
      }
    }
    // Most reads find no flight running: skip hashing the key for the lookup then.
    if (this.#flights.size > 0 && this.#flights.has(fullKey)) {
      if (trace) trace.outcome = 'miss'
      return this.#join<T>(fullKey, factory, options, this.#fallback<T>(fullKey))
    }
    const epoch = this.#flightEpoch
    const started = core.sampleStart()
    return this.#reader.read<T>(fullKey).then((found) => {
      if (started >= 0) core.metrics.getLatency.add(performance.now() - started)
      return this.#settle(fullKey, found, factory, options, epoch, trace)
    })
  }

  /** Eager refresh: a hit in the last part of the fresh period refreshes in the background. */
  eager<T>(
    fullKey: string,
    entry: { createdAt: number; freshUntil: number; value: unknown },
    now: number,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
  ): void {
    const eager = this.#core.options.eagerRefresh!
    if (now < entry.createdAt + eager * (entry.freshUntil - entry.createdAt)) return
    this.#refresh(fullKey, factory, options, entry as Found<T>)
  }

  /** Decides what getOrSet returns for what L2 gave. */
  #settle<T>(
    fullKey: string,
    found: Lookup<T>,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
    epoch: number,
    trace: CacheTraceContext | undefined,
  ): T | Promise<T> {
    const core = this.#core
    const now = Date.now()
    if (typeof found === 'object') {
      if (now < found.freshUntil) {
        core.metrics.hits++
        if (trace) trace.outcome = 'hit'
        core.remember(fullKey, found)
        if (core.options.eagerRefresh !== undefined) this.eager(fullKey, found, now, factory, options)
        return found.value
      }
      if (now < found.staleUntil) {
        core.metrics.hits++
        core.metrics.staleHits++
        if (trace) trace.outcome = 'stale'
        core.remember(fullKey, found)
        this.#refresh(fullKey, factory, options, found)
        return found.value
      }
    }
    core.metrics.misses++
    if (trace) trace.outcome = 'miss'
    // Expired but within grace (from L2, or the last copy in L1 when Redis is unreachable).
    const fallback = typeof found === 'object' ? this.#withinGrace(found, now) : this.#fallback<T>(fullKey)
    if (found === UNAVAILABLE && fallback !== undefined) {
      // Redis is down: serve the last value rather than sending every request to the database.
      core.metrics.graceHits++
      if (trace) trace.outcome = 'grace'
      return fallback.value
    }
    if (found === MISS && epoch !== this.#flightEpoch && !this.#flights.has(fullKey)) {
      // A flight finished while this read was in flight; its value may have landed after our GET.
      return this.#reader.read<T>(fullKey).then((again) => {
        if (typeof again === 'object' && Date.now() < again.freshUntil) {
          if (trace) trace.outcome = 'hit'
          return again.value
        }
        return this.#join(fullKey, factory, options, fallback)
      })
    }
    return this.#join(fullKey, factory, options, fallback, found === UNAVAILABLE)
  }

  #join<T>(
    fullKey: string,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
    fallback: Found<T> | undefined,
    readFailed = false,
    background = false,
  ): Promise<T> {
    return this.#flights.run(fullKey, () =>
      this.#produce(fullKey, factory, options, fallback, readFailed, background).finally(() => {
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
    const core = this.#core
    core.metrics.refreshes++
    this.#join(fullKey, factory, options, current, false, true).catch((error: unknown) => {
      core.metrics.refreshErrors++
      core.logger.warn(
        {
          cache: core.namespace,
          key: fullKey,
          error: errorMessage(error),
        },
        'redkit: background cache refresh failed; the stale value stays until it expires',
      )
    })
  }

  #produce<T>(
    fullKey: string,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
    fallback: Found<T> | undefined,
    readFailed: boolean,
    background: boolean,
  ): Promise<T> {
    const build = () => this.#build(fullKey, factory, options, fallback, readFailed, background)
    return this.#lock ? this.#lock.run(fullKey, build) : build()
  }

  /**
   * Runs the factory with its timeouts, stores the value, and applies the fallback rules. After a read
   * that found Redis unavailable the write goes to the background: the caller has already waited once
   * for Redis and gets the factory's value without waiting for it again.
   */
  async #build<T>(
    fullKey: string,
    factory: CacheFactory<T>,
    options: GetOrSetOptions | undefined,
    fallback: Found<T> | undefined,
    readFailed: boolean,
    background: boolean,
  ): Promise<T> {
    const core = this.#core
    const writer = this.#writer
    const ttlMs = core.ttlOf(options?.ttl)
    // Versions are read BEFORE the factory runs: an invalidation during a slow factory makes the
    // entry born stale instead of serving data built from before the invalidation.
    // After a failed read the versions cannot be had without waiting again: a tagged value is then not stored.
    const tagged = readFailed && options?.tags?.length ? null : await writer.tagsOf(options?.tags)
    core.metrics.factoryCalls++
    const controller = new AbortController()
    const run = (async () => factory({ signal: controller.signal, stale: fallback?.value, background }))()
    const stored = run.then(async (value) => {
      if (controller.signal.aborted) return value
      if (value === undefined && !(options?.cacheNullish ?? core.options.cacheNullish)) return value
      if (tagged === null) return value
      const encoded = await writer.encode(fullKey, value, ttlMs, tagged?.field)
      const write = writer.write(fullKey, encoded, ttlMs, tagged, 'getOrSet', { value })
      if (readFailed) write.catch(() => {})
      else await write
      return value
    })
    const { softTimeoutMs, hardTimeoutMs } = core.options
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
            core.metrics.timeouts++
            core.metrics.staleHits++
            stored.catch(() => {})
            resolve(fallback.value)
          }, softTimeoutMs),
        )
      }
      if (hardTimeoutMs !== undefined) {
        timers.push(
          setTimeout(() => {
            core.metrics.timeouts++
            controller.abort(new CacheFactoryTimeoutError(fullKey, hardTimeoutMs))
            stored.catch(() => {})
            if (fallback !== undefined && Date.now() < fallback.staleUntil + core.options.graceMs) {
              core.metrics.graceHits++
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
    const core = this.#core
    if (
      fallback !== undefined &&
      core.options.graceMs > 0 &&
      Date.now() < fallback.staleUntil + core.options.graceMs
    ) {
      core.metrics.graceHits++
      core.logger.warn(
        {
          cache: core.namespace,
          key: fullKey,
          error: errorMessage(error),
        },
        'redkit: cache factory failed; serving the last value within grace',
      )
      return fallback.value
    }
    throw error
  }

  /** The last known value within grace, from L1 (any generation): the fail-safe when L2 cannot help. */
  #fallback<T>(fullKey: string): Found<T> | undefined {
    const core = this.#core
    if (core.options.graceMs === 0) return undefined
    const entry = core.l1?.peekAny(core.relative(fullKey))
    if (entry === undefined) return undefined
    return this.#withinGrace({ ...entry, size: 0 } as Found<T>, Date.now())
  }

  #withinGrace<T>(found: Found<T>, now: number): Found<T> | undefined {
    const graceMs = this.#core.options.graceMs
    return graceMs > 0 && now < found.staleUntil + graceMs ? found : undefined
  }
}
