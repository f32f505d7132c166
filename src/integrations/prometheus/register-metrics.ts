// Adds redkit's metrics to an app's prom-client registry: counters and gauges read from kit.metrics()
// and kit.health() when the registry is collected, the operation histogram fed by the tracing channels.

import { Counter, Gauge, Histogram, type Registry, type RegistryContentType } from 'prom-client'
import { checkOptionKeys, describeValue } from '../../config/validate.js'
import { InvalidOptionsError } from '../../errors.js'
import type { Redkit, RedkitMetrics } from '../../redkit.js'
import { type DurationFeed, feedOperationDurations } from './operation-durations.js'

/** Options of {@link registerMetrics}. */
export interface PrometheusMetricsOptions {
  /**
   * Start of every metric name.
   * @default 'redkit_'
   * @example registerMetrics(kit, registry, { prefix: 'shop_redkit_' })
   */
  prefix?: string
  /**
   * Labels added to every series of this kit. Needed to register a second kit with the same registry and
   * prefix (each kit then has its own values); every kit of one registry and prefix uses the same label names.
   * @default {}
   * @example registerMetrics(sessionsKit, registry, { labels: { redis: 'sessions' } })
   */
  labels?: Record<string, string>
  /**
   * Feed `redkit_cache_operation_duration_seconds` from the tracing channels. This traces every cache
   * call while registered, in-process hits included (see docs/observability.md for the cost); `false`
   * keeps them untraced and leaves the histogram out.
   * @default true
   * @example registerMetrics(kit, registry, { durations: false })
   */
  durations?: boolean
  /**
   * Buckets of the duration histogram, in seconds, increasing.
   * @default [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
   * @example registerMetrics(kit, registry, { buckets: [0.001, 0.01, 0.1, 1] })
   */
  buckets?: readonly number[]
  /**
   * Report `redkit_connection_up{role}` from `kit.health()` at each collection (one PING per scrape).
   * Nothing is reported for the embedded store.
   * @default true
   * @example registerMetrics(kit, registry, { connection: false })
   */
  connection?: boolean
}

const DEFAULT_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
]
const KNOWN_OPTIONS = new Set(['prefix', 'labels', 'durations', 'buckets', 'connection'])
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
/** Label names the metrics use themselves (and `le`, the histogram's). */
const OWN_LABELS = new Set(['namespace', 'result', 'operation', 'limiter', 'policy', 'store', 'role', 'le'])
const BREAKER_STATES: Record<string, number> = { closed: 0, 'half-open': 1, open: 2 }

/** One series of a metric: its own labels and value. */
type Series = [labels: Record<string, string>, value: number]

/** A counter or gauge computed from one kit's `kit.metrics()`. */
interface Definition {
  name: string
  help: string
  type: 'counter' | 'gauge'
  labelNames: readonly string[]
  read(metrics: RedkitMetrics): Series[]
}

/** Each named object of a `kit.metrics()` section (`cache` → namespace → counters). */
function entries(metrics: RedkitMetrics, section: string): [string, Record<string, unknown>][] {
  const value = metrics[section]
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value as Record<string, unknown>).filter(
    (entry): entry is [string, Record<string, unknown>] => typeof entry[1] === 'object' && entry[1] !== null,
  )
}

function count(values: Record<string, unknown>, field: string): number {
  const value = values[field]
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0
}

/** A per-namespace counter from one field of `kit.metrics().cache[namespace]`. */
function cacheField(
  name: string,
  field: string,
  help: string,
  type: Definition['type'] = 'counter',
): Definition {
  return {
    name,
    help,
    type,
    labelNames: ['namespace'],
    read: (metrics) => entries(metrics, 'cache').map(([namespace, c]) => [{ namespace }, count(c, field)]),
  }
}

const DEFINITIONS: readonly Definition[] = [
  {
    name: 'cache_requests_total',
    help: 'Cache reads (get, getOrSet) by result: hit (fresh or stale, L1 or Redis) or miss.',
    type: 'counter',
    labelNames: ['namespace', 'result'],
    read: (metrics) =>
      entries(metrics, 'cache').flatMap(([namespace, c]): Series[] => [
        [{ namespace, result: 'hit' }, count(c, 'hits')],
        [{ namespace, result: 'miss' }, count(c, 'misses')],
      ]),
  },
  cacheField(
    'cache_stale_hits_total',
    'staleHits',
    'Stale values served within the swr window or on a soft timeout.',
  ),
  cacheField(
    'cache_grace_hits_total',
    'graceHits',
    'Expired values served within grace because the factory or Redis failed.',
  ),
  cacheField('cache_l1_hits_total', 'l1Hits', 'Hits answered by the in-process tier (included in hits).'),
  cacheField(
    'cache_errors_total',
    'errors',
    'Store failures absorbed by the cache (Redis down, timeouts, OOM).',
  ),
  cacheField('cache_factory_calls_total', 'factoryCalls', 'Factory calls made by getOrSet.'),
  cacheField('cache_factory_timeouts_total', 'timeouts', 'Factory soft or hard timeouts.'),
  cacheField('cache_refreshes_total', 'refreshes', 'Background refreshes started (swr, eager refresh).'),
  cacheField('cache_refresh_errors_total', 'refreshErrors', 'Background refreshes that failed.'),
  cacheField('cache_sets_total', 'sets', 'Values written.'),
  cacheField('cache_deletes_total', 'deletes', 'Entries deleted.'),
  cacheField(
    'cache_corrupt_entries_total',
    'corrupt',
    'Foreign or corrupt entries deleted and read as misses.',
  ),
  cacheField('cache_l1_entries', 'l1Size', 'Copies held by the in-process tier.', 'gauge'),
  {
    name: 'breaker_state',
    help: 'State of the Redis circuit breaker: 0 closed, 1 half-open, 2 open.',
    type: 'gauge',
    labelNames: [],
    read: (metrics) => [[{}, BREAKER_STATES[metrics.breaker.state] ?? 0]],
  },
  {
    name: 'breaker_consecutive_failures',
    help: 'Consecutive Redis failures counted by the circuit breaker.',
    type: 'gauge',
    labelNames: [],
    read: (metrics) => [[{}, metrics.breaker.consecutiveFailures]],
  },
  {
    name: 'ratelimit_decisions_total',
    help: 'Rate-limit consume decisions: allowed, rejected, or blocked (a blocked key rejected in process).',
    type: 'counter',
    labelNames: ['limiter', 'result'],
    read: (metrics) =>
      entries(metrics, 'ratelimit').flatMap(([limiter, l]): Series[] => {
        const blocked = count(l, 'blockedCacheHits')
        return [
          [{ limiter, result: 'allowed' }, count(l, 'allowed')],
          [{ limiter, result: 'rejected' }, Math.max(0, count(l, 'rejected') - blocked)],
          [{ limiter, result: 'blocked' }, blocked],
        ]
      }),
  },
  {
    name: 'ratelimit_store_errors_total',
    help: 'Rate-limit store calls that failed because Redis was unreachable.',
    type: 'counter',
    labelNames: ['limiter'],
    read: (metrics) =>
      entries(metrics, 'ratelimit').map(([limiter, l]) => [{ limiter }, count(l, 'storeErrors')]),
  },
  {
    name: 'ratelimit_fallback_decisions_total',
    help: 'Decisions made without Redis, by failure policy (insurance limiter, allow, deny).',
    type: 'counter',
    labelNames: ['limiter', 'policy'],
    read: (metrics) =>
      entries(metrics, 'ratelimit').flatMap(([limiter, l]): Series[] => [
        [{ limiter, policy: 'insurance' }, count(l, 'insuranceDecisions')],
        [{ limiter, policy: 'allow' }, count(l, 'failOpen')],
        [{ limiter, policy: 'deny' }, count(l, 'failClosed')],
      ]),
  },
  {
    name: 'session_operations_total',
    help: 'Session store operations: get, set, destroy.',
    type: 'counter',
    labelNames: ['store', 'operation'],
    read: (metrics) =>
      entries(metrics, 'sessions').flatMap(([store, s]): Series[] => [
        [{ store, operation: 'get' }, count(s, 'reads')],
        [{ store, operation: 'set' }, count(s, 'saves')],
        [{ store, operation: 'destroy' }, count(s, 'destroys')],
      ]),
  },
  {
    name: 'session_refused_saves_total',
    help: 'Session saves refused because the session was destroyed meanwhile (included in set).',
    type: 'counter',
    labelNames: ['store'],
    read: (metrics) =>
      entries(metrics, 'sessions').map(([store, s]) => [{ store }, count(s, 'savesRefused')]),
  },
  {
    name: 'session_unreadable_total',
    help: 'Stored sessions that could not be decoded.',
    type: 'counter',
    labelNames: ['store'],
    read: (metrics) => entries(metrics, 'sessions').map(([store, s]) => [{ store }, count(s, 'unreadable')]),
  },
]

/** One registered kit. */
interface Source {
  kit: Redkit
  labels: Record<string, string>
}

/** The metrics of one registry and name prefix, shared by every kit registered there. */
interface Group {
  /** What every kit of the group must agree on (label names, histogram and connection settings). */
  shape: string
  sources: Source[]
  names: string[]
  durations: DurationFeed | undefined
}

/** Any prom-client registry, Prometheus or OpenMetrics format. */
type AnyRegistry = Registry<RegistryContentType>

const groups = new WeakMap<AnyRegistry, Map<string, Group>>()

/**
 * Adds redkit's metrics to the app's prom-client registry (no second registry, no exposition code of its
 * own): cache requests/hits/errors/factory calls per namespace, the operation duration histogram, breaker
 * state, rate-limit decisions per limiter, session operations, connection status. Counters are read from
 * `kit.metrics()` when the registry is collected, so nothing is counted twice. Several kits can share a
 * registry when each has its own `labels`. Returns the function that removes them again.
 * @throws InvalidOptionsError for bad options, a kit registered twice, or names the registry already has
 * @example
 * import { Registry, collectDefaultMetrics } from 'prom-client'
 * import { registerMetrics } from 'redkit/prometheus'
 * const registry = new Registry()
 * collectDefaultMetrics({ register: registry })
 * const unregister = registerMetrics(kit, registry)
 * app.get('/metrics', async (_req, res) => res.type(registry.contentType).send(await registry.metrics()))
 */
export function registerMetrics(
  kit: Redkit,
  registry: AnyRegistry,
  options: PrometheusMetricsOptions = {},
): () => void {
  if (typeof kit?.metrics !== 'function' || typeof kit.health !== 'function') {
    throw new InvalidOptionsError(
      'registerMetrics: the first argument must be a redkit instance (createRedkit()).',
    )
  }
  if (typeof registry?.registerMetric !== 'function' || typeof registry.removeSingleMetric !== 'function') {
    throw new InvalidOptionsError(
      'registerMetrics: the second argument must be a prom-client Registry (new Registry(), or prom-client `register`).',
    )
  }
  const resolved = resolve(options)
  let byPrefix = groups.get(registry)
  if (!byPrefix) {
    byPrefix = new Map()
    groups.set(registry, byPrefix)
  }
  const shape = JSON.stringify([
    Object.keys(resolved.labels).sort(),
    resolved.durations,
    resolved.buckets,
    resolved.connection,
  ])
  let group = byPrefix.get(resolved.prefix)
  if (group) {
    checkJoin(group, kit, resolved.labels, shape, resolved.prefix)
  } else {
    group = createGroup(registry, resolved, shape)
    byPrefix.set(resolved.prefix, group)
  }
  const source: Source = { kit, labels: resolved.labels }
  group.sources.push(source)
  const joined = group
  let registered = true
  return () => {
    if (!registered) return
    registered = false
    joined.sources.splice(joined.sources.indexOf(source), 1)
    if (joined.sources.length > 0) {
      joined.durations?.forget(kit.prefix)
      return
    }
    joined.durations?.stop()
    for (const name of joined.names) registry.removeSingleMetric(name)
    byPrefix.delete(resolved.prefix)
  }
}

interface ResolvedPrometheusOptions {
  prefix: string
  labels: Record<string, string>
  durations: boolean
  buckets: number[]
  connection: boolean
}

function resolve(options: PrometheusMetricsOptions): ResolvedPrometheusOptions {
  checkOptionKeys(options, KNOWN_OPTIONS, 'registerMetrics')
  const prefix = options.prefix ?? 'redkit_'
  if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME.test(prefix))) {
    throw new InvalidOptionsError(
      `registerMetrics: prefix must be letters, digits, '_' or ':' and not start with a digit (such as 'redkit_'), got ${describeValue(prefix)}.`,
    )
  }
  const labels = options.labels ?? {}
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw new InvalidOptionsError(
      `registerMetrics: labels must be an object of strings such as { redis: 'cache' }, got ${describeValue(labels)}.`,
    )
  }
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__') || OWN_LABELS.has(name)) {
      throw new InvalidOptionsError(
        `registerMetrics: '${name}' cannot be a label name: use letters, digits and '_', not starting with a digit or '__', and none of ${[...OWN_LABELS].join(', ')}.`,
      )
    }
    if (typeof value !== 'string') {
      throw new InvalidOptionsError(
        `registerMetrics: labels.${name} must be a string, got ${describeValue(value)}.`,
      )
    }
  }
  for (const flag of ['durations', 'connection'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new InvalidOptionsError(
        `registerMetrics: ${flag} must be true or false, got ${describeValue(options[flag])}.`,
      )
    }
  }
  const buckets = options.buckets ?? DEFAULT_BUCKETS
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    !buckets.every(
      (b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > buckets[i - 1]!),
    )
  ) {
    throw new InvalidOptionsError(
      'registerMetrics: buckets must be increasing positive numbers of seconds, such as [0.001, 0.01, 0.1, 1].',
    )
  }
  return {
    prefix,
    labels: { ...labels },
    durations: options.durations ?? true,
    buckets: [...buckets],
    connection: options.connection ?? true,
  }
}

function checkJoin(
  group: Group,
  kit: Redkit,
  labels: Record<string, string>,
  shape: string,
  prefix: string,
): void {
  if (group.sources.some((source) => source.kit === kit)) {
    throw new InvalidOptionsError(
      `registerMetrics: this kit's metrics are already in this registry under '${prefix}'; call the function registerMetrics returned before registering it again.`,
    )
  }
  if (group.shape !== shape) {
    throw new InvalidOptionsError(
      `registerMetrics: another kit is registered in this registry under '${prefix}' with other label names or settings; give every kit the same label names, durations, buckets and connection options, or another prefix.`,
    )
  }
  const same = JSON.stringify(Object.entries(labels).sort())
  if (group.sources.some((source) => JSON.stringify(Object.entries(source.labels).sort()) === same)) {
    throw new InvalidOptionsError(
      `registerMetrics: another kit is registered in this registry under '${prefix}' with the same labels; give each kit a label of its own, such as { labels: { redis: 'sessions' } }.`,
    )
  }
}

function createGroup(registry: AnyRegistry, options: ResolvedPrometheusOptions, shape: string): Group {
  const group: Group = { shape, sources: [], names: [], durations: undefined }
  const staticNames = Object.keys(options.labels)
  try {
    for (const definition of DEFINITIONS)
      addDefinition(registry, group, options.prefix, staticNames, definition)
    if (options.connection) addConnectionGauge(registry, group, options.prefix, staticNames)
    if (options.durations) {
      const name = `${options.prefix}cache_operation_duration_seconds`
      const histogram = new Histogram({
        name,
        help: 'Duration of cache calls (get, set, getOrSet, delete), from the redkit tracing channels.',
        labelNames: [...staticNames, 'namespace', 'operation'],
        buckets: options.buckets,
        registers: [registry],
      })
      group.names.push(name)
      group.durations = feedOperationDurations(
        histogram,
        (prefix) => group.sources.find((source) => source.kit.prefix === prefix)?.labels,
      )
    }
  } catch (error) {
    for (const name of group.names) registry.removeSingleMetric(name)
    if (error instanceof InvalidOptionsError) throw error
    throw new InvalidOptionsError(
      `registerMetrics: the registry refused a metric (${(error as Error).message}); is another library using the '${options.prefix}' prefix? Pass another prefix.`,
    )
  }
  return group
}

function addDefinition(
  registry: AnyRegistry,
  group: Group,
  prefix: string,
  staticNames: string[],
  definition: Definition,
): void {
  const name = `${prefix}${definition.name}`
  const labelNames = [...staticNames, ...definition.labelNames]
  if (definition.type === 'counter') {
    new Counter({
      name,
      help: definition.help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const source of group.sources) {
          for (const [labels, value] of definition.read(source.kit.metrics())) {
            this.inc({ ...source.labels, ...labels }, value)
          }
        }
      },
    })
  } else {
    new Gauge({
      name,
      help: definition.help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const source of group.sources) {
          for (const [labels, value] of definition.read(source.kit.metrics())) {
            this.set({ ...source.labels, ...labels }, value)
          }
        }
      },
    })
  }
  group.names.push(name)
}

function addConnectionGauge(
  registry: AnyRegistry,
  group: Group,
  prefix: string,
  staticNames: string[],
): void {
  const name = `${prefix}connection_up`
  new Gauge({
    name,
    help: 'Whether each Redis connection role is ready (1) or not (0); roles never used are left out.',
    labelNames: [...staticNames, 'role'],
    registers: [registry],
    async collect() {
      const sources = [...group.sources]
      const reports = await Promise.all(sources.map((source) => source.kit.health()))
      this.reset()
      reports.forEach((report, i) => {
        for (const [role, health] of Object.entries(report.roles)) {
          if (health === undefined || health.status === 'idle') continue
          this.set({ ...sources[i]!.labels, role }, health.status === 'ready' ? 1 : 0)
        }
      })
    },
  })
  group.names.push(name)
}
