// What the health routes answer (status code and JSON body), whatever framework serves them: liveness,
// readiness with a bounded wait, the Redis report of kit.health() and the cache view of kit.metrics().

import type { CacheMetricsSnapshot } from '../cache/cache-metrics.js'
import { type Duration, parseDuration } from '../config/duration.js'
import { checkOptionKeys, describeValue } from '../config/validate.js'
import type { BreakerState } from '../connection/circuit-breaker.js'
import { redact } from '../connection/client-errors.js'
import type { HealthReport } from '../connection/health.js'
import { errorMessage, InvalidOptionsError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Redkit } from '../redkit.js'
import type { StoreMode } from '../store/store.js'

/**
 * An extra readiness check, e.g. the database. It passes unless it throws, rejects, resolves `false`, or
 * takes longer than its timeout; `signal` aborts at the timeout, for clients that can cancel.
 * @example (signal) => db.query('select 1', { signal })
 */
export type ReadinessCheck = (signal: AbortSignal) => unknown

/** A readiness check with its own timeout. */
export interface ReadinessCheckOptions {
  /**
   * The check itself (required).
   * @example { check: (signal) => fetch('http://search:9200/_cluster/health', { signal }).then((r) => r.ok) }
   */
  check: ReadinessCheck
  /**
   * How long the check may take before it counts as failed.
   * @default the routes' `checkTimeout`
   * @example { check: () => search.ping(), timeout: '500ms' }
   */
  timeout?: Duration
}

/** Options of `healthRoutes` (Express and Fastify). */
export interface HealthRoutesOptions {
  /**
   * Where the routes live: `<base>/live`, `<base>/ready`, `<base>/redis`, `<base>/cache`.
   * @default '/health'
   * @example { base: '/_internal/health' }
   */
  base?: string
  /**
   * Whether `/ready` answers 503 while Redis cannot be reached. Set it to `false` when the app works
   * without Redis (caches fall back to their factories, limiters to their insurance), so a Redis outage
   * does not take every instance out of the load balancer at once. The embedded store is always ready.
   * @default true (Redis, Cluster and Sentinel modes)
   * @example { requireRedis: false }
   */
  requireRedis?: boolean
  /**
   * More checks that count for readiness, by name; each runs on every `/ready` call, in parallel with the
   * Redis check, bounded by its timeout.
   * @default {}
   * @example { checks: { database: (signal) => db.query('select 1', { signal }) } }
   */
  checks?: Readonly<Record<string, ReadinessCheck | ReadinessCheckOptions>>
  /**
   * How long each of `checks` may take, unless it sets its own `timeout`.
   * @default '2s'
   * @example { checkTimeout: '500ms' }
   */
  checkTimeout?: Duration
  /**
   * How long `/ready` and `/redis` wait for Redis before reporting it down (a hung server answers
   * nothing; the routes never wait longer than this).
   * @default the kit's `commandTimeout`
   * @example { timeout: '1s' }
   */
  timeout?: Duration
}

/** A status code and the JSON body to send with it. */
export interface ProbeResponse<B> {
  statusCode: number
  body: B
}

/** Body of `GET <base>/live`. */
export interface LiveBody {
  status: 'ok'
  /** Seconds since the process started. */
  uptimeSeconds: number
}

/** The outcome of one readiness check. */
export interface CheckResult {
  ok: boolean
  /** How long it took, in ms. */
  durationMs: number
  /** Why it failed (credentials in URLs removed). */
  error?: string
}

/** Body of `GET <base>/ready`. */
export interface ReadyBody {
  status: 'ready' | 'not_ready'
  /** Why not ready: the kit is closing, Redis is down (and required), or a check failed. */
  reason?: string
  mode: StoreMode
  /** Redis as `kit.health()` sees it; absent while the kit is closing. */
  redis?: {
    status: HealthReport['status']
    /** Whether this status decides readiness (`requireRedis`). */
    required: boolean
    /** PING round trip of the command connection, when it answered. */
    latencyMs?: number
    reason?: string
  }
  /** One entry per `checks` option; absent while the kit is closing. */
  checks?: Record<string, CheckResult>
  checkedAt: string
}

/** Body of `GET <base>/redis`: the report of `kit.health()`, and whether the kit is closing. */
export interface RedisBody extends HealthReport {
  /** Consecutive failures the circuit breaker has counted. */
  breakerFailures: number
  closing: boolean
}

/** One namespace in the body of `GET <base>/cache`. */
export interface CacheNamespaceHealth {
  hitRate: number
  hits: number
  misses: number
  /** Hits served from the in-process tier (included in `hits`). */
  l1Hits: number
  /** Stale values served within the swr window (included in `hits`). */
  staleHits: number
  /** Values served past expiry within grace, because the factory or Redis failed. */
  graceHits: number
  /** Store failures the cache absorbed. */
  errors: number
  factoryCalls: number
  /** Entries held in process. */
  l1Size: number
  /** Approximate bytes of those entries (their stored payload size). */
  l1Bytes: number
}

/** Body of `GET <base>/cache`. */
export interface CacheBody {
  mode: StoreMode
  breaker: BreakerState
  /**
   * True while the circuit breaker is not closed: caches then answer from L1 and stale/grace copies
   * and call their factories directly, without Redis.
   */
  fallback: boolean
  namespaces: Record<string, CacheNamespaceHealth>
}

/** What `kit.metrics().cache[namespace]` holds. */
export type CacheNamespaceMetrics = CacheMetricsSnapshot & { l1Size: number; l1Bytes: number }

/** Internal name of {@link CacheNamespaceMetrics}, kept for modules that use it. */
export type CacheSection = CacheNamespaceMetrics

interface ResolvedCheck {
  name: string
  run: ReadinessCheck
  timeoutMs: number
}

const KNOWN = new Set(['base', 'requireRedis', 'checks', 'checkTimeout', 'timeout'])
const CHECK_KNOWN = new Set(['check', 'timeout'])
const DEFAULT_CHECK_TIMEOUT = '2s'

/**
 * The health routes without the framework: each method gives the status code and body of one route.
 * @throws InvalidOptionsError for bad options
 */
export class HealthProbe {
  /** Route paths, from `base`. */
  readonly paths: { live: string; ready: string; redis: string; cache: string }
  readonly #kit: Redkit
  readonly #requireRedis: boolean
  readonly #checks: readonly ResolvedCheck[]
  readonly #timeoutMs: number
  readonly #logger: Logger
  /** One kit.health() at a time: probes from many load balancers share it. */
  #inFlight: Promise<HealthReport> | undefined

  constructor(kit: Redkit, options: HealthRoutesOptions = {}, where = 'healthRoutes') {
    checkOptionKeys(options, KNOWN, where)
    const base = routePath(options.base ?? '/health', where, 'base')
    this.paths = {
      live: `${base}/live`,
      ready: `${base}/ready`,
      redis: `${base}/redis`,
      cache: `${base}/cache`,
    }
    this.#kit = kit
    const context = kit.context
    this.#logger = context.logger
    this.#requireRedis = flag(options.requireRedis, kit.mode !== 'memory', where, 'requireRedis')
    this.#timeoutMs = positiveDuration(options.timeout, context.commandTimeoutMs, where, 'timeout')
    const checkTimeoutMs = positiveDuration(
      options.checkTimeout,
      parseDuration(DEFAULT_CHECK_TIMEOUT, 'checkTimeout'),
      where,
      'checkTimeout',
    )
    this.#checks = resolveChecks(options.checks, checkTimeoutMs, where)
  }

  /** `GET <base>/live`: 200 while the process serves requests; touches nothing else. */
  live(): ProbeResponse<LiveBody> {
    return { statusCode: 200, body: { status: 'ok', uptimeSeconds: Math.round(process.uptime()) } }
  }

  /**
   * `GET <base>/ready`: 200 when the app can take traffic, 503 while the kit is closing, while Redis is
   * down (when required) or when a check fails. Answers within `timeout` (or a check's timeout, if longer).
   */
  async ready(): Promise<ProbeResponse<ReadyBody>> {
    const kit = this.#kit
    if (kit.closing) {
      return {
        statusCode: 503,
        body: { status: 'not_ready', reason: 'redkit is closing', mode: kit.mode, checkedAt: now() },
      }
    }
    const [report, checks] = await Promise.all([this.#health(), this.#runChecks()])
    const redisDown = report.status === 'down'
    const failed = Object.entries(checks).filter(([, result]) => !result.ok)
    let reason: string | undefined
    if (kit.closing) reason = 'redkit is closing'
    else if (redisDown && this.#requireRedis) reason = `Redis is down: ${report.reason ?? 'no answer'}`
    else if (failed.length > 0) {
      reason = `check ${failed.map(([name]) => `'${name}'`).join(', ')} failed`
    }
    const redis: NonNullable<ReadyBody['redis']> = { status: report.status, required: this.#requireRedis }
    const latencyMs = report.roles.command?.latencyMs
    if (latencyMs !== undefined) redis.latencyMs = latencyMs
    if (report.reason !== undefined) redis.reason = report.reason
    const body: ReadyBody = {
      status: reason === undefined ? 'ready' : 'not_ready',
      ...(reason === undefined ? {} : { reason }),
      mode: kit.mode,
      redis,
      checks,
      checkedAt: now(),
    }
    return { statusCode: reason === undefined ? 200 : 503, body }
  }

  /** `GET <base>/redis`: the `kit.health()` report; 503 when Redis is down, 200 otherwise. */
  async redis(): Promise<ProbeResponse<RedisBody>> {
    const report = await this.#health()
    const metrics = this.#kit.metrics()
    return {
      statusCode: report.status === 'down' ? 503 : 200,
      body: { ...report, breakerFailures: metrics.breaker.consecutiveFailures, closing: this.#kit.closing },
    }
  }

  /** `GET <base>/cache`: per namespace hit rate and counters, L1 size, and whether caches are in fallback. */
  cache(): ProbeResponse<CacheBody> {
    const metrics = this.#kit.metrics()
    const sections = (metrics.cache ?? {}) as Record<string, CacheNamespaceMetrics>
    const namespaces: Record<string, CacheNamespaceHealth> = {}
    for (const [name, section] of Object.entries(sections)) {
      namespaces[name] = {
        hitRate: section.hitRate,
        hits: section.hits,
        misses: section.misses,
        l1Hits: section.l1Hits,
        staleHits: section.staleHits,
        graceHits: section.graceHits,
        errors: section.errors,
        factoryCalls: section.factoryCalls,
        l1Size: section.l1Size,
        l1Bytes: section.l1Bytes ?? 0,
      }
    }
    const breaker = metrics.breaker.state
    return {
      statusCode: 200,
      body: { mode: this.#kit.mode, breaker, fallback: breaker !== 'closed', namespaces },
    }
  }

  /** kit.health(), shared by concurrent callers and bounded by the timeout: a hung Redis reads as down. */
  #health(): Promise<HealthReport> {
    if (this.#inFlight === undefined) {
      const started = this.#kit.health()
      this.#inFlight = started
      void started.finally(() => {
        if (this.#inFlight === started) this.#inFlight = undefined
      })
    }
    return within(this.#inFlight, this.#timeoutMs, () => this.#noAnswer())
  }

  #noAnswer(): HealthReport {
    const error = `no answer within ${this.#timeoutMs} ms`
    return {
      status: 'down',
      reason: `Redis did not answer within ${this.#timeoutMs} ms`,
      mode: this.#kit.mode,
      breaker: this.#kit.metrics().breaker.state,
      roles: { command: { status: 'down', error } },
      checkedAt: now(),
    }
  }

  async #runChecks(): Promise<Record<string, CheckResult>> {
    const results = await Promise.all(this.#checks.map((check) => this.#runCheck(check)))
    const out: Record<string, CheckResult> = {}
    for (const [index, check] of this.#checks.entries()) out[check.name] = results[index]!
    return out
  }

  async #runCheck({ name, run, timeoutMs }: ResolvedCheck): Promise<CheckResult> {
    const controller = new AbortController()
    const started = performance.now()
    const elapsed = () => Math.round((performance.now() - started) * 100) / 100
    const timedOut = Symbol('timed out')
    const outcome = await within(
      Promise.resolve()
        .then(() => run(controller.signal))
        .then(
          (value) => (value === false ? new Error('returned false') : undefined),
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        ),
      timeoutMs,
      () => timedOut,
    )
    if (outcome === undefined) return { ok: true, durationMs: elapsed() }
    const error = outcome === timedOut ? `timed out after ${timeoutMs} ms` : errorMessage(outcome)
    if (outcome === timedOut) controller.abort(new Error(`readiness check '${name}' timed out`))
    const safe = redact(error, [])
    this.#logger.debug({ check: name, error: safe }, 'redkit: readiness check failed')
    return { ok: false, durationMs: elapsed(), error: safe }
  }
}

/** `promise`, or `fallback()` once `ms` have passed; never rejects when `promise` does not. */
function within<T, F>(promise: Promise<T>, ms: number, fallback: () => F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback()), ms)
    timer.unref()
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

function now(): string {
  return new Date().toISOString()
}

/** A route path option: starts with '/', no trailing '/' (the empty string mounts at the root). */
export function routePath(value: unknown, where: string, name: string): string {
  if (typeof value !== 'string' || (value !== '' && !/^\/[^\s?#]*$/.test(value))) {
    throw new InvalidOptionsError(
      `${where}: ${name} must be a path starting with '/', such as '/health', got ${describeValue(value)}.`,
    )
  }
  return value.replace(/\/+$/, '')
}

function flag(value: unknown, fallback: boolean, where: string, name: string): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') {
    throw new InvalidOptionsError(`${where}: ${name} must be true or false, got ${describeValue(value)}.`)
  }
  return value
}

function positiveDuration(
  value: Duration | undefined,
  fallback: number,
  where: string,
  name: string,
): number {
  if (value === undefined) return fallback
  const ms = parseDuration(value, `${where} ${name}`)
  if (ms === 0) throw new InvalidOptionsError(`${where}: ${name} must be longer than 0 ms.`)
  return ms
}

function resolveChecks(
  checks: HealthRoutesOptions['checks'],
  defaultTimeoutMs: number,
  where: string,
): ResolvedCheck[] {
  if (checks === undefined) return []
  if (typeof checks !== 'object' || checks === null || Array.isArray(checks)) {
    throw new InvalidOptionsError(
      `${where}: checks must be an object of named checks, such as { database: () => db.ping() }, got ${describeValue(checks)}.`,
    )
  }
  return Object.entries(checks).map(([name, given]) => {
    if (typeof given === 'function') return { name, run: given, timeoutMs: defaultTimeoutMs }
    const path = `checks.${name}`
    checkOptionKeys(given, CHECK_KNOWN, where, { path, example: '{ check: () => db.ping(), timeout: "1s" }' })
    if (typeof given.check !== 'function') {
      throw new InvalidOptionsError(
        `${where}: ${path}.check must be a function, got ${describeValue(given.check)}.`,
      )
    }
    return {
      name,
      run: given.check,
      timeoutMs: positiveDuration(given.timeout, defaultTimeoutMs, where, `${path}.timeout`),
    }
  })
}
