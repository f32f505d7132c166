// The Fastify plugin: decorates the app with the kit (`app.redkit`), registers the health, metrics and
// tier table routes when asked, and closes the kit with the app only when told it owns it.

import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { checkOptionKeys, describeValue } from '../../../config/validate.js'
import { InvalidOptionsError } from '../../../errors.js'
import type { HealthRoutesOptions } from '../../../metrics/health-probe.js'
import type { MetricsRoutesOptions } from '../../../metrics/metrics-report.js'
import { type CacheTiersRouteOptions, tierTableResponse } from '../../../metrics/tier-table-response.js'
import type { Redkit } from '../../../redkit.js'
import { healthRoutes } from '../health-routes/index.js'
import { metricsRoutes } from '../metrics-routes/index.js'
import { probeRouteConfig } from '../send-probe.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The redkit instance given to the `redkit` plugin. */
    redkit: Redkit
  }
}

/** Options of the {@link redkit} plugin. */
export interface RedkitPluginOptions {
  /**
   * The kit to decorate the app with (`app.redkit`); required.
   * @example { kit: createRedkit({ url: process.env.REDIS_URL, app: 'shop' }) }
   */
  kit: Redkit
  /**
   * Registers the health routes (`/health/live`, `/ready`, `/redis`, `/cache`): `true` for the defaults,
   * or their options.
   * @default false
   * @example { health: { requireRedis: false, checks: { database: () => db.ping() } } }
   */
  health?: boolean | HealthRoutesOptions
  /**
   * Registers the JSON metrics route (`/metrics/redkit`): `true` for the defaults, or its options.
   * @default false
   * @example { metrics: { sample: true } }
   */
  metrics?: boolean | MetricsRoutesOptions
  /**
   * Registers the tier table route (`/cache-tiers`): `true` for the defaults, or its options.
   * @default false
   * @example { tiers: { path: '/api/cache-tiers' } }
   */
  tiers?: boolean | CacheTiersRouteOptions
  /**
   * Closes the kit when the app closes (`onClose`). Leave it off when something else owns the kit (it is
   * shared with workers, or closed by your own shutdown code).
   * @default false
   * @example { closeOnShutdown: true }
   */
  closeOnShutdown?: boolean
}

// Fastify hands its own register options to the plugin too.
const KNOWN = new Set([
  'kit',
  'health',
  'metrics',
  'tiers',
  'closeOnShutdown',
  'prefix',
  'logLevel',
  'logSerializers',
])
const WHERE = 'redkit fastify plugin'

const plugin: FastifyPluginAsync<RedkitPluginOptions> = async (app, options) => {
  checkOptionKeys(options, KNOWN, WHERE)
  const { kit } = options
  if (typeof kit !== 'object' || kit === null || typeof (kit as Partial<Redkit>).health !== 'function') {
    throw new InvalidOptionsError(
      `${WHERE}: kit must be a redkit instance: app.register(redkit, { kit: createRedkit(...) }), got ${describeValue(kit)}.`,
    )
  }
  const closeOnShutdown = options.closeOnShutdown ?? false
  if (typeof closeOnShutdown !== 'boolean') {
    throw new InvalidOptionsError(
      `${WHERE}: closeOnShutdown must be true or false, got ${describeValue(closeOnShutdown)}.`,
    )
  }
  const health = routeOptions(options.health, 'health')
  const metrics = routeOptions(options.metrics, 'metrics')
  const tiers = routeOptions(options.tiers, 'tiers')
  app.decorate('redkit', kit)
  if (health) await app.register(healthRoutes(kit, health))
  if (metrics) await app.register(metricsRoutes(kit, metrics))
  if (tiers) {
    const table = tierTableResponse(tiers, `${WHERE} tiers`)
    app.get(table.path, { config: probeRouteConfig }, async (_request, reply) => {
      reply.headers(table.headers)
      return table.body
    })
  }
  if (closeOnShutdown) app.addHook('onClose', () => kit.close())
}

/**
 * Decorates the app with a kit (`app.redkit`, typed) and registers redkit's routes when asked. Nothing is
 * closed unless `closeOnShutdown: true`. Routes registered here skip `rateLimitPlugin`.
 *
 * @example
 * import { redkit } from 'redkit/fastify'
 * await app.register(redkit, { kit, health: true, metrics: { sample: true }, closeOnShutdown: true })
 * app.get('/zones', async () => app.redkit.cache('zones').getOrSet('all', () => db.zones()))
 * @throws InvalidOptionsError (on register) when an option is invalid
 */
export const redkit = fp(plugin, { name: 'redkit' })

/** `false`/absent: no routes; `true`: defaults; an object: these options. */
function routeOptions<T extends object>(value: boolean | T | undefined, name: string): T | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return {} as T
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError(
      `${WHERE}: ${name} must be true, false or an options object, got ${describeValue(value)}.`,
    )
  }
  return value
}
