// Entry point of 'redkit/express': Express middleware over redkit features.
// Import from 'redkit/express'; express itself is an optional peer dependency.

export type {
  DashboardCacheSeries,
  DashboardInvalidation,
  DashboardLimiterSeries,
  DashboardSamplerOptions,
  DashboardSnapshot,
} from '../../metrics/dashboard-sampler.js'
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
export type { CacheResponseOptions } from './cache-response/index.js'
export { cacheResponse } from './cache-response/index.js'
export { cacheTiersRoute } from './cache-tiers-route/index.js'
export type { DashboardRoutesOptions } from './dashboard/index.js'
export { dashboardRoutes } from './dashboard/index.js'
export { healthRoutes } from './health-routes/index.js'
export { invalidateOn } from './invalidate-on/index.js'
export { metricsRoutes } from './metrics-routes/index.js'
export type { RateLimitOptions } from './rate-limit/index.js'
export { rateLimit } from './rate-limit/index.js'
