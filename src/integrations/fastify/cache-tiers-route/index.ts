// Fastify handler serving the tier table, so a front end takes its React Query staleTime / gcTime from
// the server's cache presets instead of a copy that drifts.

import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  type CacheTiersBody,
  type CacheTiersRouteOptions,
  tierTableResponse,
} from '../../../metrics/tier-table-response.js'

/** The handler {@link cacheTiersRoute} returns. */
export type CacheTiersHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<CacheTiersBody>

/**
 * A route handler answering `{ tiers: CacheTierRow[] }` (see `tierTable()` in 'redkit'): per preset the
 * server ttl, swr and L1 ttl, the Cache-Control, and React Query's `staleTime` and `gcTime`. The plugin
 * `redkit` serves it with `tiers: true`; `path` is used there only.
 *
 * @example
 * import { cacheTiersRoute } from 'redkit/fastify'
 * app.get('/api/cache-tiers', cacheTiersRoute())
 * @throws InvalidOptionsError when an option is invalid
 */
export function cacheTiersRoute(options: CacheTiersRouteOptions = {}): CacheTiersHandler {
  const { headers, body } = tierTableResponse(options, 'cacheTiersRoute')
  return async (_request, reply) => {
    reply.headers(headers)
    return body
  }
}
