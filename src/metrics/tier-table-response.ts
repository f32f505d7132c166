// The tier table served over HTTP, so a front end reads its React Query staleTime / gcTime from the
// server instead of copying numbers that drift: the body and headers, whatever framework sends them.

import type { CacheTierRow } from '../cache/tier-row.js'
import { tierTable } from '../cache/tiers.js'
import { checkOptionKeys, describeValue } from '../config/validate.js'
import { InvalidOptionsError } from '../errors.js'
import { routePath } from './health-probe.js'

/** Options of `cacheTiersRoute` (Express and Fastify) and of the Fastify plugin's `tiers`. */
export interface CacheTiersRouteOptions {
  /**
   * Where the Fastify plugin serves the table (the Express handler is mounted where you put it).
   * @default '/cache-tiers'
   * @example { path: '/api/cache-tiers' }
   */
  path?: string
  /**
   * The Cache-Control of the table itself: it changes only with a deploy.
   * @default 'public, max-age=300'
   * @example { cacheControl: 'no-cache' }
   */
  cacheControl?: string
}

/** Body of the tier table route: one row per preset. */
export interface CacheTiersBody {
  tiers: CacheTierRow[]
}

const KNOWN = new Set(['path', 'cacheControl'])

/**
 * The route's path, headers and body, computed once (the presets are frozen).
 * @throws InvalidOptionsError for bad options
 */
export function tierTableResponse(
  options: CacheTiersRouteOptions = {},
  where = 'cacheTiersRoute',
): { path: string; headers: Record<string, string>; body: CacheTiersBody } {
  checkOptionKeys(options, KNOWN, where)
  const cacheControl = options.cacheControl ?? 'public, max-age=300'
  if (typeof cacheControl !== 'string' || cacheControl.trim() === '' || /[\r\n]/.test(cacheControl)) {
    throw new InvalidOptionsError(
      `${where}: cacheControl must be a header value such as 'public, max-age=300', got ${describeValue(cacheControl)}.`,
    )
  }
  return {
    path: routePath(options.path ?? '/cache-tiers', where, 'path') || '/',
    headers: { 'cache-control': cacheControl },
    body: { tiers: tierTable() },
  }
}
