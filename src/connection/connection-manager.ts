// Owns every socket redkit opens: one auto-pipelined command connection, one subscriber, and on request
// one BullMQ connection. Each is created lazily on first use (so concurrent first calls share it) and
// every command goes through the circuit breaker with a command timeout.

import { EventEmitter } from 'node:events'
import { Cluster, type ClusterOptions, Redis, type RedisOptions, ReplyError } from 'ioredis'
import type { ResolvedOptions, ResolvedTarget } from '../config/options.js'
import {
  CommandTimeoutError,
  errorMessage,
  RedisUnavailableError,
  RedkitClosedError,
  RedkitError,
  StoreCommandError,
} from '../errors.js'
import { type BreakerStateChange, CircuitBreaker } from './circuit-breaker.js'
import { CommandWatchdog } from './command-watchdog.js'

/** The connections redkit opens, each at most once per process. */
export type ConnectionRole = 'command' | 'subscriber' | 'queue'

/** An ioredis client: single node / sentinel, or cluster. */
export type RedisClient = Redis | Cluster

type RedisTarget = Exclude<ResolvedTarget, { mode: 'memory' }>

interface ManagerEvents {
  stateChange: [BreakerStateChange]
  /** The subscriber connection came back after a disconnect; messages may have been missed. */
  subscriberReconnect: []
}

/** Reply errors that mean "the server cannot serve right now", which count for the breaker. */
const UNAVAILABLE_REPLY = /^(LOADING|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|READONLY)\b/

/**
 * Creates and guards the ioredis connections of one redkit instance.
 * Internal: features reach Redis through the store, never through this class.
 */
export class ConnectionManager extends EventEmitter<ManagerEvents> {
  readonly breaker: CircuitBreaker
  readonly #options: ResolvedOptions
  readonly #target: RedisTarget
  readonly #clients = new Map<ConnectionRole, RedisClient>()
  #command: RedisClient | undefined
  #watchdog: CommandWatchdog | undefined
  #inFlight = 0
  #drained: (() => void) | undefined
  #closing: Promise<void> | undefined

  constructor(options: ResolvedOptions) {
    super()
    if (options.target.mode === 'memory') throw new Error('ConnectionManager needs a Redis target')
    this.#options = options
    this.#target = options.target
    this.breaker = new CircuitBreaker({
      threshold: options.breaker.threshold,
      cooldownMs: options.breaker.cooldownMs,
    })
    this.breaker.on('stateChange', (change) => {
      const log = change.to === 'closed' ? options.logger.info : options.logger.warn
      log.call(
        options.logger,
        {
          from: change.from,
          to: change.to,
          target: options.describe,
          error: change.error === undefined ? undefined : errorMessage(change.error),
        },
        `redkit: Redis circuit breaker ${change.to}`,
      )
      this.emit('stateChange', change)
    })
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined
  }

  /** The client of a role, created on first use. Creation is synchronous, so concurrent callers share one. */
  client(role: ConnectionRole): RedisClient {
    if (this.#closing) throw new RedkitClosedError()
    let client = this.#clients.get(role)
    if (!client) {
      client = this.#create(role)
      this.#clients.set(role, client)
      if (role === 'command') this.#command = client
    }
    return client
  }

  /** The client of a role if it was created, without creating it. */
  existing(role: ConnectionRole): RedisClient | undefined {
    return this.#clients.get(role)
  }

  /**
   * Runs a command on the command connection through the breaker. Connection errors and timeouts
   * become {@link RedisUnavailableError}; Redis reply errors (WRONGTYPE, OOM...) pass through unchanged.
   */
  run<R, T = R>(command: string, fn: (client: RedisClient) => Promise<R>, map?: (reply: R) => T): Promise<T> {
    if (this.#closing) return Promise.reject(new RedkitClosedError())
    const admission = this.breaker.admit()
    if (admission instanceof Error) return Promise.reject(admission)
    const client = this.#command ?? this.client('command')
    this.#inFlight++
    // One .then per command: this wrapper sits on every call, so it allocates as little as it can.
    return fn(client).then(
      (reply) => {
        this.#settled()
        this.breaker.succeeded(admission)
        return map ? map(reply) : (reply as unknown as T)
      },
      (error: unknown) => {
        this.#settled()
        this.breaker.failed(error, admission, isConnectionFailure(error))
        throw this.#translate(command, error)
      },
    )
  }

  /** Like {@link run}, on the subscriber connection (SUBSCRIBE and friends). */
  runSubscriber<T>(command: string, fn: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new RedkitClosedError())
    const client = this.client('subscriber')
    return fn(client).catch((error: unknown) => {
      throw this.#translate(command, error)
    })
  }

  /**
   * Closes every connection: waits for in-flight commands up to `closeTimeout`, sends QUIT,
   * and disconnects whatever did not finish. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    const deadline = this.#options.closeTimeoutMs
    if (this.#inFlight > 0) {
      await Promise.race([new Promise<void>((resolve) => (this.#drained = resolve)), delay(deadline)])
    }
    await Promise.all(
      [...this.#clients.values()].map(async (client) => {
        if (client.status === 'wait' || client.status === 'end') {
          client.disconnect()
          return
        }
        try {
          await Promise.race([client.quit(), delay(Math.min(deadline, 1000)).then(() => Promise.reject())])
        } catch {
          // QUIT could not be delivered (server gone or hung): drop the socket instead.
        }
        client.disconnect()
      }),
    )
    this.#clients.clear()
    this.#command = undefined
    this.#watchdog?.stop()
  }

  #settled(): void {
    this.#watchdog?.progress()
    this.#inFlight--
    if (this.#drained !== undefined && this.#inFlight === 0) this.#drained()
  }

  #translate(command: string, error: unknown): unknown {
    if (error instanceof RedkitError) return error
    if (!isConnectionFailure(error)) {
      // The server refused the command itself (WRONGTYPE, OOM...): same class as the embedded store's.
      return error instanceof ReplyError
        ? new StoreCommandError((error as Error).message, { cause: error })
        : error
    }
    const message = errorMessage(error)
    if (/timed out/i.test(message)) {
      return new CommandTimeoutError(command, this.#options.commandTimeoutMs, { cause: error })
    }
    return new RedisUnavailableError(
      `Redis at ${this.#options.describe} is unavailable (${command}: ${message}). Check that the server is up and reachable.`,
      { cause: error },
    )
  }

  #create(role: ConnectionRole): RedisClient {
    const base = this.#baseOptions(role)
    const target = this.#target
    let client: RedisClient
    if (target.mode === 'cluster') {
      const clusterOptions: ClusterOptions = {
        lazyConnect: true,
        enableAutoPipelining: role === 'command',
        maxRedirections: 16,
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        // Cluster refreshes its own slots; the per-node options carry auth, TLS and timeouts.
        redisOptions: base,
        clusterRetryStrategy: (times) => retryDelay(times),
        enableOfflineQueue: true,
        slotsRefreshTimeout: this.#options.connectTimeoutMs,
        ...(role === 'queue' ? { maxRetriesPerRequest: null } : {}),
      } as ClusterOptions
      if (target.tls) clusterOptions.dnsLookup = (address, callback) => callback(null, address)
      client = new Cluster(
        target.nodes.map((node) => ({ host: node.host, port: node.port })),
        clusterOptions,
      )
    } else if (target.mode === 'sentinel') {
      client = new Redis({
        ...base,
        sentinels: target.sentinels.map((node) => ({ host: node.host, port: node.port })),
        name: target.name,
        db: target.db,
        sentinelPassword: target.sentinelPassword?.reveal(),
        sentinelRetryStrategy: (times) => retryDelay(times),
      })
    } else {
      client = new Redis({ ...base, host: target.host, port: target.port, db: target.db })
    }
    if (role === 'command' && !(client instanceof Cluster)) this.#watch(client)
    this.#observe(role, client)
    return client
  }

  /**
   * Moves the command timeout of a single-node command connection from ioredis (a timer per command)
   * to one watchdog per connection, which costs nothing per command. Cluster keeps per-command
   * timers: replies are ordered per node, not across the cluster.
   */
  #watch(client: Redis): void {
    if (!CommandWatchdog.supports(client)) return
    client.options.commandTimeout = undefined
    this.#watchdog = new CommandWatchdog(client, this.#options.commandTimeoutMs, () => this.#inFlight)
  }

  #baseOptions(role: ConnectionRole): RedisOptions {
    const target = this.#target
    return {
      username: target.username,
      password: target.password?.reveal(),
      tls: target.tls,
      connectionName: `${this.#options.app}:${role}`,
      lazyConnect: true,
      // RESP2 is understood by every server, proxy and managed service redkit may meet.
      protocol: 2,
      enableAutoPipelining: role === 'command',
      connectTimeout: this.#options.connectTimeoutMs,
      // BullMQ blocks on commands for long periods and retries forever by design.
      commandTimeout: role === 'queue' ? undefined : this.#options.commandTimeoutMs,
      maxRetriesPerRequest: role === 'queue' ? null : 1,
      enableOfflineQueue: true,
      retryStrategy: (times) => retryDelay(times),
      // The ready check runs INFO, which restricted ACL users may not run (ioredis then prints to
      // stderr); a server still LOADING answers commands with LOADING, which the breaker counts.
      enableReadyCheck: false,
    }
  }

  #observe(role: ConnectionRole, client: RedisClient): void {
    const logger = this.#options.logger
    let readyOnce = false
    let lostSinceReady = false
    client.on('error', (error: unknown) => {
      logger.debug({ role, error: errorMessage(error) }, 'redkit: connection error')
    })
    client.on('close', () => {
      if (readyOnce) lostSinceReady = true
    })
    client.on('ready', () => {
      if (readyOnce && lostSinceReady) {
        logger.info({ role, target: this.#options.describe }, 'redkit: reconnected')
        if (role === 'subscriber') this.emit('subscriberReconnect')
      }
      readyOnce = true
      lostSinceReady = false
    })
  }
}

/** Whether an error means "Redis could not serve" (as opposed to a reply error caused by the command). */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof RedkitError) return error instanceof RedisUnavailableError
  if (error instanceof ReplyError) return UNAVAILABLE_REPLY.test((error as Error).message)
  return true
}

function retryDelay(times: number): number {
  // Exponential backoff from 50 ms to 2 s, with jitter so many instances do not reconnect in lockstep.
  const base = Math.min(2000, 50 * 2 ** Math.min(times, 10))
  return Math.round(base / 2 + Math.random() * (base / 2))
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
