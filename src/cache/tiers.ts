// The cache presets the project ships, one per kind of data a backend caches: reference, userContext,
// list, detail, analytics. Each also names the Cache-Control an HTTP response built from it should carry.

import type { CacheOptions } from './cache-options.js'
import { type CacheTierRow, tierRow } from './tier-row.js'

/** Names of the presets in {@link cacheTiers}. */
export type CacheTierName = 'reference' | 'userContext' | 'list' | 'detail' | 'analytics'

const presets = {
  reference: Object.freeze({
    ttl: '24h',
    l1: Object.freeze({ max: 10_000 }),
    cacheControl: 'private, max-age=300, stale-while-revalidate=86400',
  }),
  userContext: Object.freeze({
    ttl: '5m',
    // Short: a permission change is pushed to every instance, and a missed push lasts 30 s at most.
    l1: Object.freeze({ max: 10_000, ttl: '30s' }),
    cacheControl: 'private, no-cache',
  }),
  list: Object.freeze({ ttl: '5m', cacheControl: 'private, max-age=30' }),
  detail: Object.freeze({
    ttl: '1h',
    l1: Object.freeze({ max: 10_000, ttl: '1m' }),
    cacheControl: 'private, no-cache',
  }),
  analytics: Object.freeze({
    ttl: '5m',
    swr: '15m',
    cacheControl: 'private, max-age=300, stale-while-revalidate=900',
  }),
} satisfies Record<CacheTierName, CacheTier>

/**
 * Presets for the usual kinds of cached data. Pass one to `kit.cache` (`{ tier: 'reference' }`, or spread
 * it and override a field). Every `cacheControl` is `private`: these are responses of an API that may
 * require a login, which shared caches must not keep. Browsers (and React Query's `staleTime`) use their
 * copy for `max-age` seconds; server-side invalidation reaches them only after that.
 *
 * | tier | for | cache | Cache-Control |
 * | --- | --- | --- | --- |
 * | `reference` | zones, rate cards, config | ttl 24 h, L1, invalidated explicitly | `private, max-age=300, stale-while-revalidate=86400` |
 * | `userContext` | user, permissions, profile | ttl 5 min, L1 for 30 s, invalidation pushed on change | `private, no-cache` |
 * | `list` | transactional lists (orders of company X) | ttl 5 min; tag entries, key by a hash of the query | `private, max-age=30` |
 * | `detail` | one order or product | ttl 1 h, L1 for 1 min; delete the entry on write | `private, no-cache` |
 * | `analytics` | dashboards | ttl 5 min fresh, then 15 min served stale while refreshed | `private, max-age=300, stale-while-revalidate=900` |
 *
 * @example
 * const zones = kit.cache('zones', { tier: 'reference' })
 * const perms = kit.cache('permissions', { ...kit.tiers.userContext, ttl: '2m' })
 * res.set('Cache-Control', zones.cacheControl)
 */
export const cacheTiers: CacheTiers = Object.freeze(
  // Not enumerable: Object.keys / entries / spreads of the presets see the five tiers only.
  Object.defineProperty(presets, 'table', { value: tierTable, enumerable: false }) as typeof presets &
    Pick<CacheTiers, 'table'>,
)

/** One preset of {@link cacheTiers}: cache options plus the Cache-Control of responses built from it. */
export type CacheTier = Readonly<CacheOptions & { cacheControl: string }>

/** The type of {@link cacheTiers}: the presets by name, and {@link tierTable} as `table`. */
export type CacheTiers = Readonly<Record<CacheTierName, CacheTier>> & {
  /**
   * The tier table (see {@link tierTable}); not enumerable, so `Object.keys(cacheTiers)` lists tiers only.
   * @example const rows = kit.tiers.table()
   */
  readonly table: () => CacheTierRow[]
}

/**
 * Every preset as one row a front end can align with: server ttl, swr and L1 ttl (ms and text), the
 * Cache-Control, and the React Query `staleTime` (the `max-age`, in ms) and `gcTime` (`staleTime` plus the
 * browser's `stale-while-revalidate` window, at least React Query's default of 5 minutes). Also available as
 * `cacheTiers.table()`, and over HTTP with `cacheTiersRoute()` from `redkit/express` or `redkit/fastify`.
 *
 * @example
 * import { tierTable } from 'redkit'
 * const list = tierTable().find((row) => row.name === 'list')!
 * // front end: useQuery({ queryKey, queryFn, staleTime: list.staleTime, gcTime: list.gcTime })
 */
export function tierTable(): CacheTierRow[] {
  return (Object.keys(cacheTiers) as CacheTierName[]).map((name) => tierRow(name, cacheTiers[name]))
}
