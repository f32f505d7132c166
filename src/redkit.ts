// The Redkit instance createRedkit returns: it owns the store (Redis or embedded), the connection
// manager and the bus, and is the entry point every feature hangs from.

import { EventEmitter } from 'node:events'
import { inspect } from 'node:util'
import { Bus } from './bus/bus.js'
import { Cache } from './cache/cache.js'
import type { CacheOptions } from './cache/cache-options.js'
import { TagVersions } from './cache/tags/tag-versions.js'
import { cacheTiers } from './cache/tiers.js'
import type { ResolvedOptions } from './config/options.js'
import { sameOptions } from './config/same-options.js'
import { checkOptionKeys } from './config/validate.js'
import type { BreakerState, BreakerStateChange } from './connection/circuit-breaker.js'
import { ConnectionManager } from './connection/connection-manager.js'
import { type HealthReport, memoryHealth, parseInfo, redisHealth } from './connection/health.js'
import {
  createQueueConnection,
  noQueueWithoutRedis,
  type QueueConnection,
  type QueueConnectionOptions,
} from './connection/queue-connection.js'
import { errorMessage, InvalidOptionsError } from './errors.js'
import type { FeatureContext } from './feature-context.js'
import { KeyBuilder, stableJson } from './keys/key-builder.js'
import { breakerChannel } from './metrics/tracing-channels.js'
import { AccessList, type AccessListOptions } from './ratelimit/access-list.js'
import {
  CompoundLimiter,
  type CompoundLimitOptions,
  type CompoundLimitPart,
  type CompoundLimitResult,
  type CompoundPart,
  splitCompoundParts,
} from './ratelimit/compound-limiter.js'
import { limiterFor, type RateLimiter } from './ratelimit/limiter.js'
import type { RateLimiterOptions } from './ratelimit/limiter-options.js'
import { RevocationList } from './revocation/revocation-list.js'
import {
  type ResolvedRevocationOptions,
  type RevocationListOptions,
  resolveRevocationOptions,
} from './revocation/revocation-options.js'
import { resolveSessionOptions, type SessionStoreOptions } from './session/session-options.js'
import { SessionStore } from './session/session-store.js'
import { MemoryStore } from './store/memory/memory-store.js'
import { RedisStore } from './store/redis/redis-store.js'
import type { Store, StoreMode } from './store/store.js'

/** Events a {@link Redkit} emits. */
export interface RedkitEvents {
  /** The Redis circuit breaker changed state (`closed` → `open` → `half-open` → ...). */
  breakerStateChange: [BreakerStateChange]
}

/** The result of `kit.metrics()`: plain numbers, ready for JSON or a metrics exporter. */
export interface RedkitMetrics {
  mode: StoreMode
  breaker: { state: BreakerState; consecutiveFailures: number }
  /** Per-feature sections, e.g. `cache.products.hits`. */
  [section: string]: unknown
}

/** A redkit instance. Create it with `createRedkit()`; close it with `close()`. */
export class Redkit extends EventEmitter<RedkitEvents> {
  /** Which backend is in use. */
  readonly mode: StoreMode
  /** The prefix every key of this instance lives under, e.g. `shop:prod:`. */
  readonly prefix: string
  /**
   * The store features use. Public for advanced use (custom commands through the same connection,
   * breaker and timeout); keys you pass are not prefixed for you.
   */
  readonly store: Store
  /** Pub/sub between every instance of the app. */
  readonly bus: Bus
  /** Builds keys under {@link prefix}; the only place keys are formatted. */
  readonly keys: KeyBuilder
  /**
   * The cache presets (the same object as the `cacheTiers` export): reference, userContext, list, detail,
   * analytics, each with its Cache-Control. See docs/cache.md.
   * @example const zones = kit.cache('zones', kit.tiers.reference)
   */
  readonly tiers: typeof cacheTiers = cacheTiers
  readonly #options: ResolvedOptions
  readonly #metricSources = new Map<string, Map<string, () => object>>()
  readonly #cleanups: (() => void | Promise<void>)[] = []
  readonly #caches = new Map<string, Cache>()
  readonly #cacheOptions = new Map<string, CacheOptions | undefined>()
  /** By prefix: the store and the options it was created with. */
  readonly #sessionStores = new Map<
    unknown,
    { store: SessionStore; options: SessionStoreOptions | undefined }
  >()
  /** By name: the list and its resolved options. */
  /** The compounds `compoundLimit` made, by parts and options. */
  readonly #compounds = new Map<string, CompoundLimiter>()
  readonly #accessLists = new Map<string, { list: AccessList; options: AccessListOptions | undefined }>()
  readonly #revocationLists = new Map<
    unknown,
    { list: RevocationList; resolved: ResolvedRevocationOptions }
  >()
  #tags: TagVersions | undefined
  /** What features asked to hear when Redis goes away and comes back. */
  readonly #availability = new Set<(available: boolean) => void>()
  readonly #manager: ConnectionManager | undefined
  #closing: Promise<void> | undefined
  readonly #queues = new Map<boolean, QueueConnection>()

  /** @internal use `createRedkit()` */
  constructor(options: ResolvedOptions) {
    super()
    this.#options = options
    this.prefix = options.prefix
    this.mode = options.target.mode
    if (options.target.mode === 'memory') {
      this.store = new MemoryStore()
    } else {
      this.#manager = new ConnectionManager(options)
      this.#manager.on('stateChange', (change) => {
        if (breakerChannel.hasSubscribers) breakerChannel.publish({ prefix: this.prefix, ...change })
        this.emit('breakerStateChange', change)
      })
      this.store = new RedisStore(this.#manager, options.target.mode)
    }
    this.keys = new KeyBuilder(this.prefix)
    this.bus = new Bus(this.store, this.prefix, options.logger)
  }

  /** @internal what features are built with. */
  get context(): FeatureContext {
    return {
      store: this.store,
      bus: this.bus,
      keys: this.keys,
      logger: this.#options.logger,
      commandTimeoutMs: this.#options.commandTimeoutMs,
      registerMetrics: (section, name, read) => {
        let sources = this.#metricSources.get(section)
        if (!sources) {
          sources = new Map()
          this.#metricSources.set(section, sources)
        }
        sources.set(name, read)
        return () => sources.delete(name)
      },
      onClose: (cleanup) => {
        this.#cleanups.push(cleanup)
      },
      tags: () => this.#tagVersions(),
      onAvailability: (listener) => {
        // One emitter listener for all features: a listener per cache would trip Node's leak warning.
        if (this.#availability.size === 0) {
          this.on('breakerStateChange', ({ to }) => {
            if (to !== 'open' && to !== 'closed') return
            for (const notify of this.#availability) notify(to === 'closed')
          })
        }
        this.#availability.add(listener)
      },
    }
  }

  #tagVersions(): TagVersions {
    this.#tags ??= new TagVersions(this.context, this.#options.tags)
    return this.#tags
  }

  /**
   * Invalidates tags everywhere: every cache entry carrying one of them is a miss from now on, in this
   * process at once and in every other instance within bus delivery. O(1) per tag whatever the number
   * of entries; their memory is reclaimed in the background.
   * @throws RedisUnavailableError when Redis cannot be reached (nothing was invalidated)
   * @example await kit.invalidateTags([`company:${companyId}:orders`])
   */
  invalidateTags(tags: readonly string[]): Promise<void> {
    return this.#tagVersions().invalidate(tags)
  }

  /**
   * The cache of a namespace, created on first call with its options; later calls without options (or
   * with the same options) return the same instance.
   * @throws InvalidOptionsError for bad options, or different options for an existing namespace
   * @example
   * const products = kit.cache<Product>('products', { ttl: '10m' })
   * await products.getOrSet(['product', id], () => db.product(id))
   */
  cache<V = unknown>(namespace: string, options?: CacheOptions): Cache<V> {
    const existing = this.#caches.get(namespace)
    if (existing) {
      if (options !== undefined && !sameCacheOptions(this.#cacheOptions.get(namespace), options)) {
        throw new InvalidOptionsError(
          `cache '${namespace}' already exists with other options; they are fixed when it is first created. Call kit.cache('${namespace}') without options to get it.`,
        )
      }
      return existing as Cache<V>
    }
    const cache = new Cache<V>(this.context, namespace, options)
    this.#caches.set(namespace, cache as Cache)
    this.#cacheOptions.set(namespace, options)
    return cache
  }

  /**
   * Resolves once the command connection answers a PING. Optional: connections are lazy and
   * commands sent before they are up wait for them. Rejects with `RedisUnavailableError`.
   */
  async ready(): Promise<void> {
    await this.store.ping()
  }

  /** Health of every connection, breaker state and server facts. Never throws. */
  health(): Promise<HealthReport> {
    if (!this.#manager) return Promise.resolve(memoryHealth())
    return redisHealth(this.#manager, this.mode)
  }

  /** Counters of this instance as a plain object. */
  metrics(): RedkitMetrics {
    const metrics: RedkitMetrics = {
      mode: this.mode,
      breaker: {
        state: this.#manager?.breaker.state ?? 'closed',
        consecutiveFailures: this.#manager?.breaker.failures ?? 0,
      },
    }
    for (const [section, sources] of this.#metricSources) {
      const values: Record<string, unknown> = {}
      for (const [name, read] of sources) values[name] = read()
      metrics[section] = values
    }
    return metrics
  }

  /**
   * The rate limiter `name` (the same instance on every call with the same options). Options:
   * `algorithm`, `limit`, `window`, `blockFor`, `countRejected`, `onStoreError`, or a preset via
   * `tier` / `rateLimitTiers`. See docs/rate-limiting.md.
   * @throws InvalidOptionsError when an option is invalid, or `name` exists with other options
   * @example const api = kit.limiter('api', { limit: 100, window: '1m' })
   */
  limiter(name: string, options: RateLimiterOptions): RateLimiter {
    return limiterFor(this.context, name, options)
  }

  /**
   * Several limiters checked as one (per IP, per user, per route...): every part takes its cost, or none
   * does; the answer names the refusing part. Make it once and call `consume(keys)` per request. See
   * docs/rate-limiting.md for Cluster (`hashTag`, or reserve/commit across slots).
   * @throws InvalidOptionsError when a part or an option is invalid
   * @example
   * const login = kit.compoundLimiter([{ limiter: perIp }, { limiter: perUser }])
   * const result = await login.consume([`ip:${req.ip}`, `user:${name}`])
   */
  compoundLimiter(parts: readonly CompoundPart[], options?: CompoundLimitOptions): CompoundLimiter {
    return new CompoundLimiter(this.context, parts, options)
  }

  /**
   * One compound decision: `kit.compoundLimiter(parts).consume(keys, costs)` in one call. It builds the
   * compound each time; on a hot path make one with {@link compoundLimiter} (its decisions of one turn
   * share script calls).
   * @throws InvalidOptionsError when a part or an option is invalid
   * @example
   * const result = await kit.compoundLimit([
   *   { limiter: perIp, key: `ip:${ip}` },
   *   { limiter: perUser, key: `user:${uid}` },
   *   { limiter: perRoute, key: `route:${route}` },
   * ])
   * if (!result.allowed) return tooManyRequests(result.rejectedName, result.retryAfterMs)
   */
  compoundLimit(
    parts: readonly CompoundLimitPart[],
    options?: CompoundLimitOptions,
  ): Promise<CompoundLimitResult> {
    try {
      const split = splitCompoundParts(parts)
      // The same parts (usually a handful of combinations in an app) share one compound, and so its batching.
      const signature = JSON.stringify([split.parts.map((part) => [part.limiter?.name, part.name]), options])
      let compound = this.#compounds.get(signature)
      if (!compound || compound.parts.some((part, i) => part.limiter !== split.parts[i]!.limiter)) {
        compound = new CompoundLimiter(this.context, split.parts, options)
        if (this.#compounds.size >= 1000) this.#compounds.clear()
        this.#compounds.set(signature, compound)
      }
      return compound.consume(split.keys, split.costs)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * The allow/deny list `name` (IPs, CIDR ranges, user ids), shared by every instance through Redis and
   * the bus, checked in process; the same instance on every call. Give it to the `rateLimit` middleware
   * as `accessList`.
   * @throws InvalidOptionsError when an option is invalid, or `name` exists with other options
   * @example
   * const list = kit.accessList('api')
   * await list.deny('203.0.113.0/24')
   * app.use(rateLimit(api, { accessList: list }))
   */
  accessList(name: string, options?: AccessListOptions): AccessList {
    const existing = this.#accessLists.get(name)
    if (existing) {
      if (options === undefined || sameOptions(existing.options ?? {}, options)) return existing.list
      throw new InvalidOptionsError(
        `accessList '${name}' already exists with other options; call kit.accessList('${name}') without options to get it.`,
      )
    }
    const list = new AccessList(this.context, name, options)
    this.#accessLists.set(name, { list, options })
    return list
  }

  /**
   * An express-session store (`session({ store: kit.sessions({ secret }) })`) with a per-user index
   * (`destroyByUserId`, `listByUserId`), HMAC-hashed ids and optional encryption. One store per `prefix`:
   * created on the first call, returned by later calls with the same options or with only the prefix.
   * @throws InvalidOptionsError when an option is invalid (e.g. no `secret` with Redis), or the prefix
   * has a store with other options
   * @example const store = kit.sessions({ ttl: '1d', secret: process.env.SESSION_KEY_SECRET })
   */
  sessions(options?: SessionStoreOptions): SessionStore {
    // One store per prefix: a second one would overwrite its metrics and add its own close hooks and
    // breaker listener on every call (often once per request).
    const prefix: unknown = isOptionsObject(options) ? (options.prefix ?? 'sess') : 'sess'
    const existing = this.#sessionStores.get(prefix)
    if (existing === undefined) {
      const store = new SessionStore(this.context, options, this)
      this.#sessionStores.set(prefix, { store, options })
      return store
    }
    if (namesOnly(options, 'prefix') || sameOptions(existing.options, options)) return existing.store
    // A bad option is reported as what it is, not as a mismatch.
    resolveSessionOptions(options!, this.mode)
    const call = prefix === 'sess' ? 'kit.sessions()' : `kit.sessions({ prefix: '${String(prefix)}' })`
    throw new InvalidOptionsError(
      `sessions '${String(prefix)}' already exists with other options; they are fixed when it is first created. Call ${call} without other options to get it, or give this store another prefix.`,
    )
  }

  /**
   * A JWT revocation list: `revoke(jti, exp)`, `revokeUser(userId)`, `isRevoked(claims)`. One list per
   * `name`: created on the first call, returned by later calls with the same options or with only the name.
   * @throws InvalidOptionsError when an option is invalid, or the name has a list with other options
   * @example if (await kit.revocations().isRevoked(payload)) throw new Unauthorized()
   */
  revocations(options?: RevocationListOptions): RevocationList {
    // One list per name: each one subscribes to the bus, so a list per call (often per request) leaks.
    const name: unknown = isOptionsObject(options) ? (options.name ?? 'revoked') : 'revoked'
    const existing = this.#revocationLists.get(name)
    if (existing === undefined) {
      const list = new RevocationList(this.context, options)
      this.#revocationLists.set(name, { list, resolved: resolveRevocationOptions(options ?? {}) })
      return list
    }
    if (namesOnly(options, 'name')) return existing.list
    // Compared resolved, so spelling out a default is the same options; a bad option throws here.
    if (sameOptions(existing.resolved, resolveRevocationOptions(options!))) return existing.list
    const call = name === 'revoked' ? 'kit.revocations()' : `kit.revocations({ name: '${String(name)}' })`
    throw new InvalidOptionsError(
      `revocations '${String(name)}' already exist with other options; they are fixed when the list is first created. Call ${call} without other options to get it, or give this list another name.`,
    )
  }

  /**
   * The connection to give BullMQ (`new Queue(name, { connection: kit.queueConnection() })`): its own
   * socket that waits for Redis instead of failing (what BullMQ needs), no key prefix. On a single node it
   * is node-redis in BullMQ's own adapter (`createNodeRedisClient`); on Cluster and Sentinel, which that
   * adapter does not cover, an ioredis client (install `ioredis`). Created once; BullMQ duplicates it for
   * blocking workers; `kit.close()` closes it. Logs a warning when the server's `maxmemory-policy` is not `noeviction`, since evicted
   * queue keys lose jobs.
   * @throws InvalidOptionsError in memory mode: BullMQ needs a real Redis.
   */
  queueConnection(options: QueueConnectionOptions = {}): QueueConnection {
    checkOptionKeys(options, QUEUE_OPTIONS, 'queueConnection')
    if (options.failFast !== undefined && typeof options.failFast !== 'boolean') {
      throw new InvalidOptionsError('queueConnection: failFast must be true or false.')
    }
    if (!this.#manager) throw noQueueWithoutRedis()
    const failFast = options.failFast === true
    let connection = this.#queues.get(failFast)
    if (!connection) {
      const created = createQueueConnection(this.#manager, this.#options, failFast)
      connection = created.connection
      this.#queues.set(failFast, connection)
      this.#cleanups.push(created.close)
      if (this.#queues.size === 1) this.#checkEvictionPolicy(this.#manager)
    }
    return connection
  }

  /**
   * Closes connections after in-flight commands finish (up to `closeTimeout`). Idempotent; later
   * calls on this instance reject with `RedkitClosedError`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  /**
   * True from the moment `close()` is called: readiness probes report "not ready" from then on, so a
   * load balancer stops sending traffic while connections drain.
   * @example if (kit.closing) return res.status(503).end()
   */
  get closing(): boolean {
    return this.#closing !== undefined
  }

  async #close(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0)) {
      try {
        await cleanup()
      } catch (error) {
        this.#options.logger.warn({ error: errorMessage(error) }, 'redkit: cleanup failed on close')
      }
    }
    await this.store.close()
  }

  [inspect.custom](): string {
    return `Redkit { mode: '${this.mode}', target: '${this.#options.describe}', prefix: '${this.prefix}' }`
  }

  toJSON(): Record<string, string> {
    return { mode: this.mode, target: this.#options.describe, prefix: this.prefix }
  }

  #checkEvictionPolicy(manager: ConnectionManager): void {
    const logger = this.#options.logger
    manager
      .runUncounted('INFO', (c) => c.send(['INFO', 'memory']) as Promise<string>)
      .then((info) => {
        const policy = parseInfo(info).maxmemory_policy
        if (policy && policy !== 'noeviction') {
          logger.warn(
            { maxmemoryPolicy: policy },
            `redkit: Redis maxmemory-policy is '${policy}'; BullMQ needs 'noeviction' or jobs can be evicted and lost`,
          )
        }
      })
      .catch((error: unknown) => {
        logger.debug({ error: errorMessage(error) }, 'redkit: could not read maxmemory-policy')
      })
  }
}

function isOptionsObject<T extends object>(options: T | undefined): options is T {
  return typeof options === 'object' && options !== null
}

/** Whether `options` set nothing but the key that names the feature (such a call fetches the existing one). */
function namesOnly(options: object | undefined, nameKey: string): boolean {
  if (options === undefined) return true
  if (!isOptionsObject(options)) return false
  return Object.entries(options).every(([key, value]) => key === nameKey || value === undefined)
}

const QUEUE_OPTIONS = new Set(['failFast'])

/** Whether options given again for an existing cache are the ones it was created with. */
function sameCacheOptions(first: CacheOptions | undefined, again: CacheOptions): boolean {
  const { serializer: firstSerializer, ...firstRest } = first ?? {}
  const { serializer: againSerializer, ...againRest } = again
  return firstSerializer === againSerializer && stableJson(firstRest) === stableJson(againRest)
}
