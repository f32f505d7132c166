// Express routes for load balancers and Kubernetes probes: liveness, readiness (Redis and extra checks,
// bounded in time), the Redis report and the cache view, as one Router to mount.

import { Router } from 'express'
import { HealthProbe, type HealthRoutesOptions } from '../../../metrics/health-probe.js'
import type { Redkit } from '../../../redkit.js'
import { send } from '../send-probe.js'

/**
 * A Router serving `GET <base>/live`, `<base>/ready`, `<base>/redis` and `<base>/cache` (base `/health`).
 * `/live` is 200 while the process serves; `/ready` is 503 while the kit is closing, while Redis is down
 * (unless `requireRedis: false`) or while one of `checks` fails, and never waits longer than the command
 * timeout for Redis. Responses are JSON with `Cache-Control: no-store`. See docs/operations.md.
 *
 * @example
 * import { healthRoutes } from 'redkit/express'
 * app.use(healthRoutes(kit, { checks: { database: () => db.query('select 1') } }))
 * // livenessProbe: GET /health/live ; readinessProbe: GET /health/ready
 * @throws InvalidOptionsError when an option is invalid
 */
export function healthRoutes(kit: Redkit, options: HealthRoutesOptions = {}): Router {
  const probe = new HealthProbe(kit, options, 'healthRoutes')
  const router = Router()
  router.get(probe.paths.live, (_req, res) => {
    send(res, probe.live())
  })
  router.get(probe.paths.ready, (_req, res, next) => {
    probe.ready().then((response) => send(res, response), next)
  })
  router.get(probe.paths.redis, (_req, res, next) => {
    probe.redis().then((response) => send(res, response), next)
  })
  router.get(probe.paths.cache, (_req, res) => {
    send(res, probe.cache())
  })
  return router
}
