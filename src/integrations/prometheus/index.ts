// Entry point of 'redkit/prometheus': redkit's metrics in the app's prom-client registry.
// prom-client is an optional peer dependency, imported only from here.

export type { PrometheusMetricsOptions } from './register-metrics.js'
export { registerMetrics } from './register-metrics.js'
