// The JSON body of the metrics route: kit.metrics() with its sections always present, the closing flag,
// and, when asked for, the sampled key counts and memory of each cache namespace.

import { checkOptionKeys, describeValue } from '../config/validate.js'
import type { BreakerState } from '../connection/circuit-breaker.js'
import { InvalidOptionsError } from '../errors.js'
import type { RateLimiterMetrics } from '../ratelimit/limiter.js'
import type { Redkit } from '../redkit.js'
import type { StoreMode } from '../store/store.js'
import type { CacheNamespaceMetrics } from './health-probe.js'
import { routePath } from './health-probe.js'
import { type KeyspaceSample, type KeyspaceSampleOptions, KeyspaceSampler } from './keyspace-sampler.js'

/** Options of `metricsRoutes` (Express and Fastify). */
export interface MetricsRoutesOptions {
  /**
   * Where the JSON is served. Kept off `/metrics` so it never collides with a Prometheus endpoint.
   * @default '/metrics/redkit'
   * @example { path: '/_internal/redkit' }
   */
  path?: string
  /**
   * Adds `keyspace`: key counts and estimated memory per cache namespace, from a SCAN walk bounded in
   * time and keys plus MEMORY USAGE on a few keys of each namespace (never KEYS), reused for `ttl`.
   * @default false
   * @example { sample: true } // or { sample: { ttl: '1m', budget: '500ms' } }
   */
  sample?: boolean | KeyspaceSampleOptions
}

/** Body of the metrics route. */
export interface MetricsBody {
  mode: StoreMode
  breaker: { state: BreakerState; consecutiveFailures: number }
  /** True once `kit.close()` was called. */
  closing: boolean
  /** Per cache namespace: hits, misses, hitRate, staleHits, graceHits, L1 size and bytes, latency p50/p99... */
  cache: Record<string, CacheNamespaceMetrics>
  /** Per limiter: allowed, rejected, blockedCacheHits, store errors, insurance decisions... */
  ratelimit: Record<string, RateLimiterMetrics>
  /** Per session store prefix: reads, saves, destroys... */
  sessions: Record<string, Readonly<Record<string, number>>>
  /** Sampled key counts and memory per cache namespace, with `sample` on. */
  keyspace?: KeyspaceSample
  /** ISO time the counters were read. */
  collectedAt: string
  /** Every other section of `kit.metrics()` (revocations, tags...), as it is. */
  [section: string]: unknown
}

const KNOWN = new Set(['path', 'sample'])

/**
 * Builds the metrics body of a kit.
 * @throws InvalidOptionsError for bad options
 */
export class MetricsReport {
  /** The route path. */
  readonly path: string
  readonly #kit: Redkit
  readonly #sampler: KeyspaceSampler | undefined

  constructor(kit: Redkit, options: MetricsRoutesOptions = {}, where = 'metricsRoutes') {
    checkOptionKeys(options, KNOWN, where)
    this.path = routePath(options.path ?? '/metrics/redkit', where, 'path') || '/'
    this.#kit = kit
    const sample = options.sample ?? false
    if (sample !== false && sample !== true && (typeof sample !== 'object' || sample === null)) {
      throw new InvalidOptionsError(
        `${where}: sample must be true, false or an object such as { ttl: '30s' }, got ${describeValue(sample)}.`,
      )
    }
    this.#sampler = sample === false ? undefined : new KeyspaceSampler(kit.store, kit.keys, sample, where)
  }

  /** The counters now (and the keyspace sample, taken or reused). Never rejects. */
  async body(): Promise<MetricsBody> {
    const keyspace = this.#sampler === undefined ? undefined : await this.#sampler.sample()
    const { mode, breaker, cache, ratelimit, sessions, ...rest } = this.#kit.metrics()
    return {
      mode,
      breaker,
      closing: this.#kit.closing,
      cache: (cache ?? {}) as MetricsBody['cache'],
      ratelimit: (ratelimit ?? {}) as MetricsBody['ratelimit'],
      sessions: (sessions ?? {}) as MetricsBody['sessions'],
      ...rest,
      ...(keyspace === undefined ? {} : { keyspace }),
      collectedAt: new Date().toISOString(),
    }
  }
}
