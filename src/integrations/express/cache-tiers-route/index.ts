// Express handler serving the tier table, so a front end takes its React Query staleTime / gcTime from
// the server's cache presets instead of a copy that drifts.

import type { RequestHandler } from 'express'
import { type CacheTiersRouteOptions, tierTableResponse } from '../../../metrics/tier-table-response.js'

/**
 * A handler answering `{ tiers: CacheTierRow[] }` (see `tierTable()` in 'redkit'): per preset the server
 * ttl, swr and L1 ttl, the Cache-Control, and React Query's `staleTime` and `gcTime`. Mount it where the
 * front end can read it; `path` is not used here (the route decides).
 *
 * @example
 * import { cacheTiersRoute } from 'redkit/express'
 * app.get('/api/cache-tiers', cacheTiersRoute())
 * @throws InvalidOptionsError when an option is invalid
 */
export function cacheTiersRoute(options: CacheTiersRouteOptions = {}): RequestHandler {
  const { headers, body } = tierTableResponse(options, 'cacheTiersRoute')
  return (_req, res) => {
    res.set(headers).json(body)
  }
}
