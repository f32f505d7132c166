// Entry point of 'redkit/fastify': Fastify hooks and plugins over redkit features.
// Import from 'redkit/fastify'; fastify itself is an optional peer dependency.

export type {
  CacheBody,
  CacheNamespaceHealth,
  CacheNamespaceMetrics,
  CheckResult,
  HealthRoutesOptions,
  LiveBody,
  ReadinessCheck,
  ReadinessCheckOptions,
  ReadyBody,
  RedisBody,
} from '../../metrics/health-probe.js'
export type {
  KeyspaceSample,
  KeyspaceSampleOptions,
  NamespaceSample,
} from '../../metrics/keyspace-sampler.js'
export type { MetricsBody, MetricsRoutesOptions } from '../../metrics/metrics-report.js'
export type { CacheTiersBody, CacheTiersRouteOptions } from '../../metrics/tier-table-response.js'
export type { CacheResponseHooks, CacheResponseOptions } from './cache-response/index.js'
export { cacheResponse } from './cache-response/index.js'
export type { CacheTiersHandler } from './cache-tiers-route/index.js'
export { cacheTiersRoute } from './cache-tiers-route/index.js'
export { healthRoutes } from './health-routes/index.js'
export type { InvalidateOnHook } from './invalidate-on/index.js'
export { invalidateOn } from './invalidate-on/index.js'
export { metricsRoutes } from './metrics-routes/index.js'
export type { RedkitPluginOptions } from './plugin/index.js'
export { redkit } from './plugin/index.js'
export type {
  RateLimitHook,
  RateLimitOptions,
  RateLimitPluginOptions,
} from './rate-limit/index.js'
export { rateLimit, rateLimitPlugin } from './rate-limit/index.js'
