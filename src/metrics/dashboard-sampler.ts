// What the live dashboard shows, whatever framework serves it: a ring buffer of per-interval samples taken
// from kit.metrics() counter deltas, timed cache reads, recent invalidations, health and the keyspace sample.

import type { TracingChannel, TracingChannelSubscribers } from 'node:diagnostics_channel'
import { LatencyHistogram } from '../cache/latency-histogram.js'
import { type Duration, parseDuration } from '../config/duration.js'
import { checkOptionKeys, describeValue } from '../config/validate.js'
import type { BreakerState } from '../connection/circuit-breaker.js'
import type { HealthReport } from '../connection/health.js'
import { InvalidOptionsError } from '../errors.js'
import type { RateLimiterMetrics } from '../ratelimit/limiter.js'
import type { Redkit } from '../redkit.js'
import type { StoreMode } from '../store/store.js'
import type { CacheSection } from './health-probe.js'
import { type KeyspaceSample, type KeyspaceSampleOptions, KeyspaceSampler } from './keyspace-sampler.js'
import {
  type CacheInvalidateTraceContext,
  type CacheTraceContext,
  cacheGetChannel,
  cacheGetOrSetChannel,
  cacheInvalidateChannel,
} from './tracing-channels.js'

/** Options of the dashboard's sampler (`dashboardRoutes(kit, { ... })`). */
export interface DashboardSamplerOptions {
  /**
   * How often the counters are sampled: each chart point covers one interval. At least 100 ms.
   * @default '2s'
   * @example { interval: '5s' }
   */
  interval?: Duration
  /**
   * How far back the charts go; the ring buffer keeps `history / interval` samples (at most 10 000).
   * @default '10m'
   * @example { history: '30m' }
   */
  history?: Duration
  /**
   * Time every cache read (`get`, `getOrSet`) through the `redkit:cache:get` / `redkit:cache:getOrSet`
   * tracing channels, for p50/p99 latency per interval (L1 hits and factory calls included). This puts
   * reads on their traced path while the dashboard runs (a context object and two clock reads per read).
   * With `false`, the latency charts show the caches' own store-read percentiles since start instead.
   * @default true
   * @example { traceReads: false }
   */
  traceReads?: boolean
  /**
   * Key counts and memory per cache namespace: a SCAN walk bounded in time and keys plus MEMORY USAGE on a
   * few keys of each namespace, taken only while the page is open and reused for `ttl` (30 s). `false`
   * leaves the panel empty and sends nothing to Redis for it.
   * @default true
   * @example { keyspace: { ttl: '1m', budget: '100ms' } }
   */
  keyspace?: boolean | KeyspaceSampleOptions
  /**
   * How many recent invalidations (`cache.delete`, `kit.invalidateTags`) the page lists.
   * @default 50
   * @example { invalidations: 200 }
   */
  invalidations?: number
}

/** One cache namespace of a {@link DashboardSnapshot}: one value per sample time. */
export interface DashboardCacheSeries {
  /** Hits per interval (L1, Redis and stale hits). */
  hits: number[]
  /** Misses per interval. */
  misses: number[]
  /** `hits / (hits + misses)` of each interval; `null` when nothing was read in it. */
  hitRate: (number | null)[]
  /** Median read latency of each interval in ms; `null` when no read was timed in it. */
  p50: (number | null)[]
  /** 99th percentile read latency of each interval in ms; `null` when no read was timed in it. */
  p99: (number | null)[]
  /** The cache's counters now, since it was created. */
  totals: CacheSection
}

/** One limiter of a {@link DashboardSnapshot}: one value per sample time. */
export interface DashboardLimiterSeries {
  /** Requests allowed per interval. */
  allowed: number[]
  /** Requests rejected per interval (`blocked` included). */
  rejected: number[]
  /** Rejections of blocked keys answered in process per interval (part of `rejected`). */
  blocked: number[]
  /** The limiter's counters now, since it was created. */
  totals: RateLimiterMetrics
}

/** One recent invalidation seen in this process. */
export interface DashboardInvalidation {
  /** Epoch ms when it settled. */
  at: number
  /** `delete`: one key of one cache. `tags`: `kit.invalidateTags`. */
  kind: 'delete' | 'tags'
  namespace?: string
  /** The key relative to its cache (`delete` only). */
  key?: string
  tags?: string[]
  /** Whether the key existed (`delete` only). */
  existed?: boolean
  /** True when the call failed (Redis unavailable...). */
  failed: boolean
}

/** The JSON the dashboard page polls. */
export interface DashboardSnapshot {
  mode: StoreMode
  /** The kit's key prefix. */
  prefix: string
  /** True once `kit.close()` was called. */
  closing: boolean
  /** ISO time of this snapshot. */
  collectedAt: string
  intervalMs: number
  historyMs: number
  /** `traced`: latency per interval from the tracing channels. `store`: the caches' own percentiles since start. */
  latencySource: 'traced' | 'store'
  /** End time (epoch ms) of each sample, oldest first; every series has one value per time. */
  times: number[]
  caches: Record<string, DashboardCacheSeries>
  limiters: Record<string, DashboardLimiterSeries>
  breaker: { state: BreakerState; consecutiveFailures: number }
  /** `kit.health()`, reused for one interval. */
  health: HealthReport
  /** Key counts and memory per cache namespace (absent with `keyspace: false`). */
  keyspace?: KeyspaceSample
  /** Newest first. */
  invalidations: DashboardInvalidation[]
}

interface CacheSample {
  hits: number
  misses: number
  p50: number | null
  p99: number | null
}

interface LimiterSample {
  allowed: number
  rejected: number
  blocked: number
}

interface Sample {
  at: number
  caches: Map<string, CacheSample>
  limiters: Map<string, LimiterSample>
}

interface Counters {
  caches: Record<string, CacheSection>
  limiters: Record<string, RateLimiterMetrics>
}

const KNOWN = new Set(['interval', 'history', 'traceReads', 'keyspace', 'invalidations'])
const MIN_INTERVAL_MS = 100
const MAX_SAMPLES = 10_000

/**
 * Samples one kit for the dashboard. Nothing runs before {@link start}; the timer is unref'ed and
 * {@link start} hooks {@link stop} to `kit.close()`.
 * @throws InvalidOptionsError for bad options
 */
export class DashboardSampler {
  readonly intervalMs: number
  readonly historyMs: number
  readonly #kit: Redkit
  readonly #capacity: number
  readonly #traceReads: boolean
  readonly #maxInvalidations: number
  readonly #keyspace: KeyspaceSampler | undefined
  readonly #samples: Sample[] = []
  readonly #invalidations: DashboardInvalidation[] = []
  /** Read latency of the interval in progress, per namespace. */
  #latency = new Map<string, LatencyHistogram>()
  #previous: Counters | undefined
  #timer: NodeJS.Timeout | undefined
  #unsubscribe: (() => void) | undefined
  #health: { at: number; report: Promise<HealthReport> } | undefined

  constructor(kit: Redkit, options: DashboardSamplerOptions = {}, where = 'dashboardRoutes') {
    checkOptionKeys(options, KNOWN, where)
    this.#kit = kit
    this.intervalMs = parseDuration(options.interval ?? '2s', `${where} interval`)
    if (this.intervalMs < MIN_INTERVAL_MS) {
      throw new InvalidOptionsError(
        `${where}: interval must be at least ${MIN_INTERVAL_MS} ms, such as '2s', got ${describeValue(options.interval)}.`,
      )
    }
    this.historyMs = parseDuration(options.history ?? '10m', `${where} history`)
    if (this.historyMs < this.intervalMs) {
      throw new InvalidOptionsError(
        `${where}: history must be at least one interval (${this.intervalMs} ms), such as '10m', got ${describeValue(options.history)}.`,
      )
    }
    this.#capacity = Math.min(Math.ceil(this.historyMs / this.intervalMs), MAX_SAMPLES)
    this.#traceReads = flag(options.traceReads, true, where, 'traceReads')
    const invalidations = options.invalidations ?? 50
    if (!Number.isSafeInteger(invalidations) || invalidations < 0) {
      throw new InvalidOptionsError(
        `${where}: invalidations must be a whole number of at least 0, such as 50, got ${describeValue(invalidations)}.`,
      )
    }
    this.#maxInvalidations = invalidations
    const keyspace = options.keyspace ?? true
    if (keyspace !== false && keyspace !== true && (typeof keyspace !== 'object' || keyspace === null)) {
      throw new InvalidOptionsError(
        `${where}: keyspace must be true, false or an object such as { ttl: '30s' }, got ${describeValue(keyspace)}.`,
      )
    }
    this.#keyspace =
      keyspace === false ? undefined : new KeyspaceSampler(kit.store, kit.keys, keyspace, `${where} keyspace`)
  }

  /** Whether the timer runs. */
  get running(): boolean {
    return this.#timer !== undefined
  }

  /** Takes the baseline, starts the timer and the channel subscriptions. Idempotent. */
  start(): void {
    if (this.#timer !== undefined || this.#kit.closing) return
    this.#previous = this.#read()
    this.#unsubscribe = this.#subscribe()
    this.#timer = setInterval(() => this.tick(), this.intervalMs)
    this.#timer.unref()
    this.#kit.context.onClose(() => this.stop())
  }

  /** Stops the timer and unsubscribes; the samples taken so far stay readable. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
  }

  /** Closes the interval in progress: one sample of every counter's change since the last one. */
  tick(): void {
    const now = this.#read()
    const previous = this.#previous ?? { caches: {}, limiters: {} }
    const latency = this.#latency
    this.#latency = new Map()
    const caches = new Map<string, CacheSample>()
    for (const [name, section] of Object.entries(now.caches)) {
      const before = previous.caches[name]
      caches.set(name, {
        hits: delta(section.hits, before?.hits),
        misses: delta(section.misses, before?.misses),
        ...(this.#traceReads ? percentiles(latency.get(name)) : storePercentiles(section)),
      })
    }
    const limiters = new Map<string, LimiterSample>()
    for (const [name, counters] of Object.entries(now.limiters)) {
      const before = previous.limiters[name]
      limiters.set(name, {
        allowed: delta(counters.allowed, before?.allowed),
        rejected: delta(counters.rejected, before?.rejected),
        blocked: delta(counters.blockedCacheHits, before?.blockedCacheHits),
      })
    }
    this.#previous = now
    this.#samples.push({ at: Date.now(), caches, limiters })
    if (this.#samples.length > this.#capacity) this.#samples.splice(0, this.#samples.length - this.#capacity)
  }

  /** The series, the current counters, health and the keyspace sample. Never rejects. */
  async snapshot(): Promise<DashboardSnapshot> {
    const [health, keyspace] = await Promise.all([this.#reuseHealth(), this.#keyspace?.sample()])
    const metrics = this.#kit.metrics()
    const current = this.#read()
    const samples = this.#samples
    const caches: Record<string, DashboardCacheSeries> = {}
    const cacheNames = new Set(Object.keys(current.caches))
    for (const sample of samples) for (const name of sample.caches.keys()) cacheNames.add(name)
    for (const name of [...cacheNames].sort()) {
      const rows = samples.map((sample) => sample.caches.get(name))
      const totals = current.caches[name]
      if (totals === undefined) continue
      caches[name] = {
        hits: rows.map((row) => row?.hits ?? 0),
        misses: rows.map((row) => row?.misses ?? 0),
        hitRate: rows.map((row) => (row === undefined ? null : rate(row.hits, row.misses))),
        p50: rows.map((row) => row?.p50 ?? null),
        p99: rows.map((row) => row?.p99 ?? null),
        totals,
      }
    }
    const limiters: Record<string, DashboardLimiterSeries> = {}
    for (const name of Object.keys(current.limiters).sort()) {
      const rows = samples.map((sample) => sample.limiters.get(name))
      limiters[name] = {
        allowed: rows.map((row) => row?.allowed ?? 0),
        rejected: rows.map((row) => row?.rejected ?? 0),
        blocked: rows.map((row) => row?.blocked ?? 0),
        totals: current.limiters[name]!,
      }
    }
    return {
      mode: this.#kit.mode,
      prefix: this.#kit.prefix,
      closing: this.#kit.closing,
      collectedAt: new Date().toISOString(),
      intervalMs: this.intervalMs,
      historyMs: this.historyMs,
      latencySource: this.#traceReads ? 'traced' : 'store',
      times: samples.map((sample) => sample.at),
      caches,
      limiters,
      breaker: metrics.breaker,
      health,
      ...(keyspace === undefined ? {} : { keyspace }),
      invalidations: [...this.#invalidations].reverse(),
    }
  }

  /** One kit.health() per interval, shared by every open page. */
  #reuseHealth(): Promise<HealthReport> {
    const last = this.#health
    if (last !== undefined && Date.now() - last.at < this.intervalMs) return last.report
    const report = this.#kit.health()
    this.#health = { at: Date.now(), report }
    return report
  }

  #read(): Counters {
    const metrics = this.#kit.metrics()
    return {
      caches: { ...((metrics.cache ?? {}) as Record<string, CacheSection>) },
      limiters: { ...((metrics.ratelimit ?? {}) as Record<string, RateLimiterMetrics>) },
    }
  }

  #subscribe(): () => void {
    const prefix = this.#kit.prefix
    const unsubscribes: (() => void)[] = []
    if (this.#traceReads) {
      // Keyed by the context object: the one thing the start and the end of a call share.
      const started = new WeakMap<object, number>()
      const reads: TracingChannelSubscribers<CacheTraceContext> = {
        start(context) {
          if (context.prefix === prefix) started.set(context, performance.now())
        },
        end() {},
        asyncStart() {},
        asyncEnd: (context) => {
          const at = started.get(context)
          if (at === undefined) return
          started.delete(context)
          let histogram = this.#latency.get(context.namespace)
          if (histogram === undefined) {
            histogram = new LatencyHistogram()
            this.#latency.set(context.namespace, histogram)
          }
          histogram.add(performance.now() - at)
        },
        error() {},
      }
      for (const channel of [cacheGetChannel, cacheGetOrSetChannel]) {
        const traced = channel as unknown as TracingChannel<CacheTraceContext, CacheTraceContext>
        traced.subscribe(reads)
        unsubscribes.push(() => traced.unsubscribe(reads))
      }
    }
    if (this.#maxInvalidations > 0) {
      const invalidations: TracingChannelSubscribers<CacheInvalidateTraceContext> = {
        start() {},
        end() {},
        asyncStart() {},
        asyncEnd: (context) => {
          if (context.prefix === prefix) this.#remember(context)
        },
        error() {},
      }
      const traced = cacheInvalidateChannel as unknown as TracingChannel<
        CacheInvalidateTraceContext,
        CacheInvalidateTraceContext
      >
      traced.subscribe(invalidations)
      unsubscribes.push(() => traced.unsubscribe(invalidations))
    }
    return () => {
      for (const unsubscribe of unsubscribes) unsubscribe()
    }
  }

  #remember(context: CacheInvalidateTraceContext): void {
    const entry: DashboardInvalidation = {
      at: Date.now(),
      kind: context.kind,
      failed: context.error !== undefined,
    }
    if (context.namespace !== undefined) entry.namespace = context.namespace
    if (context.key !== undefined) entry.key = context.key
    if (context.tags !== undefined) entry.tags = [...context.tags]
    if (context.existed !== undefined) entry.existed = context.existed
    this.#invalidations.push(entry)
    if (this.#invalidations.length > this.#maxInvalidations) this.#invalidations.shift()
  }
}

/** A counter's change since the last sample; a counter that went down (a new instance) restarts from 0. */
function delta(now: number, before: number | undefined): number {
  if (before === undefined || now < before) return now
  return now - before
}

function rate(hits: number, misses: number): number | null {
  const reads = hits + misses
  return reads === 0 ? null : hits / reads
}

/** p50/p99 of the reads timed in one interval; null when none was. */
function percentiles(timed: LatencyHistogram | undefined): { p50: number | null; p99: number | null } {
  if (timed === undefined || timed.count === 0) return { p50: null, p99: null }
  return { p50: timed.percentile(0.5), p99: timed.percentile(0.99) }
}

/** The cache's own store-read percentiles (since start); null before its first timed read. */
function storePercentiles(section: CacheSection): { p50: number | null; p99: number | null } {
  const { p50, p99 } = section.getLatencyMs ?? { p50: 0, p99: 0 }
  return p50 > 0 ? { p50, p99 } : { p50: null, p99: null }
}

function flag(value: unknown, fallback: boolean, where: string, name: string): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') {
    throw new InvalidOptionsError(`${where}: ${name} must be true or false, got ${describeValue(value)}.`)
  }
  return value
}
