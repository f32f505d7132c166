// Fastify routes for load balancers and Kubernetes probes: liveness, readiness (Redis and extra checks,
// bounded in time), the Redis report and the cache view, as one plugin to register.

import type { FastifyPluginAsync } from 'fastify'
import { HealthProbe, type HealthRoutesOptions } from '../../../metrics/health-probe.js'
import type { Redkit } from '../../../redkit.js'
import { probeRouteConfig, send } from '../send-probe.js'

/**
 * A plugin serving `GET <base>/live`, `<base>/ready`, `<base>/redis` and `<base>/cache` (base `/health`).
 * `/live` is 200 while the process serves; `/ready` is 503 while the kit is closing, while Redis is down
 * (unless `requireRedis: false`) or while one of `checks` fails, and never waits longer than the command
 * timeout for Redis. Responses are JSON with `Cache-Control: no-store`; `rateLimitPlugin` skips them.
 * See docs/operations.md.
 *
 * @example
 * import { healthRoutes } from 'redkit/fastify'
 * await app.register(healthRoutes(kit, { checks: { database: () => db.query('select 1') } }))
 * @throws InvalidOptionsError when an option is invalid (when called, before registering)
 */
export function healthRoutes(kit: Redkit, options: HealthRoutesOptions = {}): FastifyPluginAsync {
  const probe = new HealthProbe(kit, options, 'healthRoutes')
  return async (app) => {
    const config = probeRouteConfig
    app.get(probe.paths.live, { config }, async (_request, reply) => send(reply, probe.live()))
    app.get(probe.paths.ready, { config }, async (_request, reply) => send(reply, await probe.ready()))
    app.get(probe.paths.redis, { config }, async (_request, reply) => send(reply, await probe.redis()))
    app.get(probe.paths.cache, { config }, async (_request, reply) => send(reply, probe.cache()))
  }
}
