// Express route serving redkit's counters as JSON: caches, limiters, sessions, breaker, and optionally
// the sampled key counts and memory of each cache namespace.

import { Router } from 'express'
import { MetricsReport, type MetricsRoutesOptions } from '../../../metrics/metrics-report.js'
import type { Redkit } from '../../../redkit.js'
import { send } from '../send-probe.js'

/**
 * A Router serving `GET /metrics/redkit` (option `path`): `kit.metrics()` as JSON, every section present,
 * plus `keyspace` (key counts and memory per cache namespace, sampled with SCAN and MEMORY USAGE, reused
 * for 30 s) with `sample: true`. For Prometheus, use `redkit/prometheus` instead. See docs/operations.md.
 *
 * @example
 * import { metricsRoutes } from 'redkit/express'
 * app.use('/internal', requireAdmin, metricsRoutes(kit, { sample: true })) // GET /internal/metrics/redkit
 * @throws InvalidOptionsError when an option is invalid
 */
export function metricsRoutes(kit: Redkit, options: MetricsRoutesOptions = {}): Router {
  const report = new MetricsReport(kit, options, 'metricsRoutes')
  const router = Router()
  router.get(report.path, (_req, res, next) => {
    report.body().then((body) => send(res, { statusCode: 200, body }), next)
  })
  return router
}
