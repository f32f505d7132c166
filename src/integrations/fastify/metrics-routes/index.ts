// Fastify route serving redkit's counters as JSON: caches, limiters, sessions, breaker, and optionally
// the sampled key counts and memory of each cache namespace.

import type { FastifyPluginAsync } from 'fastify'
import { MetricsReport, type MetricsRoutesOptions } from '../../../metrics/metrics-report.js'
import type { Redkit } from '../../../redkit.js'
import { probeRouteConfig, send } from '../send-probe.js'

/**
 * A plugin serving `GET /metrics/redkit` (option `path`): `kit.metrics()` as JSON, every section present,
 * plus `keyspace` (key counts and memory per cache namespace, sampled with SCAN and MEMORY USAGE, reused
 * for 30 s) with `sample: true`. For Prometheus, use `redkit/prometheus` instead. See docs/operations.md.
 *
 * @example
 * import { metricsRoutes } from 'redkit/fastify'
 * await app.register(metricsRoutes(kit, { sample: true }), { prefix: '/internal' })
 * @throws InvalidOptionsError when an option is invalid (when called, before registering)
 */
export function metricsRoutes(kit: Redkit, options: MetricsRoutesOptions = {}): FastifyPluginAsync {
  const report = new MetricsReport(kit, options, 'metricsRoutes')
  return async (app) => {
    app.get(report.path, { config: probeRouteConfig }, async (_request, reply) =>
      send(reply, { statusCode: 200, body: await report.body() }),
    )
  }
}
