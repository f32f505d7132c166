// Counters of one cache namespace, exposed through kit.metrics() as a plain object.
// Kept as plain number fields: incrementing them is the cheapest thing the hot path can do.

import { LatencyHistogram } from './latency-histogram.js'

/** What `kit.metrics().cache[namespace]` holds. */
export interface CacheMetricsSnapshot {
  hits: number
  misses: number
  sets: number
  deletes: number
  /** Store failures that were absorbed (Redis down, timeouts) or thrown in strict mode. */
  errors: number
  /** Writes Redis refused for lack of memory (`maxmemory` reached under `noeviction`); counted in `errors` too. */
  refusedWrites: number
  /** Foreign or corrupt entries found, deleted and treated as misses. */
  corrupt: number
  /** Factory calls made by getOrSet. */
  factoryCalls: number
  /** Hits served from the in-process tier (included in `hits`). */
  l1Hits: number
  /** Stale values served within the swr window or on a soft timeout (included in `hits`). */
  staleHits: number
  /** Values served past their expiry within grace (factory failed, timed out, or Redis unavailable). */
  graceHits: number
  /** Background refreshes started (swr, eager refresh). */
  refreshes: number
  /** Background refreshes that failed (logged; the stale value stayed). */
  refreshErrors: number
  /** Factory timeouts (soft or hard). */
  timeouts: number
  /** Polls while another instance held the distributed lock. */
  lockWaits: number
  /** Calls that went past the cache because it was turned off (`enabled`). */
  bypassed: number
  /** Whether the cache is on (its `enabled` option) when the snapshot was taken. */
  enabled: boolean
  /** hits / (hits + misses), 0 when nothing was read. */
  hitRate: number
  /** Latency of `get`/`getOrSet` reads in ms (one read in 8 is timed). */
  getLatencyMs: { p50: number; p99: number }
}

/** Mutable counters of one cache. */
export class CacheMetrics {
  hits = 0
  misses = 0
  sets = 0
  deletes = 0
  errors = 0
  refusedWrites = 0
  corrupt = 0
  factoryCalls = 0
  l1Hits = 0
  staleHits = 0
  graceHits = 0
  refreshes = 0
  refreshErrors = 0
  timeouts = 0
  lockWaits = 0
  bypassed = 0
  readonly getLatency = new LatencyHistogram()

  snapshot(enabled = true): CacheMetricsSnapshot {
    // L1 hits are counted once, on their own (the hot path does one increment); hits include them.
    const hits = this.hits + this.l1Hits
    const reads = hits + this.misses
    return {
      hits,
      misses: this.misses,
      sets: this.sets,
      deletes: this.deletes,
      errors: this.errors,
      refusedWrites: this.refusedWrites,
      corrupt: this.corrupt,
      factoryCalls: this.factoryCalls,
      l1Hits: this.l1Hits,
      staleHits: this.staleHits,
      graceHits: this.graceHits,
      refreshes: this.refreshes,
      refreshErrors: this.refreshErrors,
      timeouts: this.timeouts,
      lockWaits: this.lockWaits,
      bypassed: this.bypassed,
      enabled,
      hitRate: reads === 0 ? 0 : hits / reads,
      getLatencyMs: { p50: this.getLatency.percentile(0.5), p99: this.getLatency.percentile(0.99) },
    }
  }
}
