// Owns every socket redkit opens: one command connection (node-redis pipelines what is queued before
// its next write), one subscriber, and on request one BullMQ connection. Each is created lazily on first
// use, so concurrent first calls share it; every command goes through the breaker and the timeout.

import { EventEmitter } from 'node:events'
import type { RedisClientType, RedisClusterType } from '@redis/client'
import type { ResolvedOptions } from '../config/options.js'
import { errorMessage, RedkitClosedError } from '../errors.js'
import { type BreakerStateChange, CircuitBreaker } from './circuit-breaker.js'
import { isConnectionFailure, scrubError, translateClientError } from './client-errors.js'
import { ClusterTopologyWatch } from './cluster-topology.js'
import { CommandDeadlines } from './command-deadlines.js'
import { CommandWatchdog } from './command-watchdog.js'
import {
  ClusterCommands,
  type CommandClient,
  type ConnectionRole,
  createRawClient,
  NodeCommands,
  type RawClient,
  type RedisTarget,
  retryDelay,
  SentinelCommands,
} from './redis-clients.js'
import { withTimeout } from './with-timeout.js'

export { isConnectionFailure } from './client-errors.js'
export type { CommandClient, ConnectionRole } from './redis-clients.js'

interface ManagerEvents {
  stateChange: [BreakerStateChange]
  /** The subscriber connection came back after a disconnect; messages may have been missed. */
  subscriberReconnect: []
}

/** Where a connection stands. */
export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'down' | 'closed'

/** How long a Cluster subscriber that dropped is watched for its return before giving up. */
const PUBSUB_RETURN_WAIT_MS = 60_000

/** Why the watchdog dropped a connection: what its pending commands are rejected with. */
class StalledError extends Error {
  constructor() {
    super('Command timed out')
    this.name = 'TimeoutError'
  }
}

/**
 * One role's client and what is known of it: its state, the last failure (what fast-failing callers
 * are told), and the gate callers wait at while the very first connection is being made.
 */
class Connection {
  readonly role: ConnectionRole
  readonly raw: RawClient
  readonly commands: CommandClient
  state: ConnectionState = 'idle'
  lastError: Error | undefined
  #gate: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | undefined
  #everReady = false
  #lostSinceReady = false
  /** Failed whole-connect attempts in a row (Cluster, Sentinel), for the backoff. */
  #retries = 0
  readonly #manager: ConnectionManager

  /** The app's own client: used as it is, never closed by redkit. */
  readonly provided: boolean

  constructor(
    manager: ConnectionManager,
    role: ConnectionRole,
    raw: RawClient,
    commands: CommandClient,
    provided = false,
  ) {
    this.#manager = manager
    this.role = role
    this.raw = raw
    this.commands = commands
    this.provided = provided
  }

  get ready(): boolean {
    return this.state === 'ready'
  }

  /** Starts connecting if nothing did yet. */
  open(): void {
    if (this.state !== 'idle') return
    this.state = 'connecting'
    const raw = this.raw as { isOpen: boolean; isReady?: boolean }
    if (raw.isOpen) {
      // An app's client that is already open: ready now, or when it says so (a Cluster has no isReady).
      if (raw.isReady !== false) this.#ready()
      return
    }
    this.#connect()
  }

  #connect(): void {
    ;(this.raw as { connect(): Promise<unknown> }).connect().then(
      () => this.#ready(),
      (error: unknown) => this.#failed(error instanceof Error ? error : new Error(String(error)), true),
    )
  }

  /**
   * Resolves when the connection is ready; rejects at once when it is down, or after `timeoutMs` when the
   * first connection takes that long (a server that accepts but does not answer).
   */
  whenReady(timeoutMs: number): Promise<void> {
    this.open()
    if (this.state === 'ready') return Promise.resolve()
    if (this.state === 'down' || this.state === 'closed') return Promise.reject(this.lastError)
    if (!this.#gate) {
      let resolve!: () => void
      let reject!: (error: unknown) => void
      const promise = new Promise<void>((res, rej) => {
        resolve = res
        reject = rej
      })
      const gate = { promise, resolve, reject }
      this.#gate = gate
      const timer = setTimeout(() => {
        if (this.#gate !== gate) return
        this.#gate = undefined
        reject(new StalledError())
      }, timeoutMs)
      timer.unref()
      promise.then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      )
    }
    return this.#gate.promise
  }

  /** Wired as the client's `ready` event (single node) or after a successful connect (Cluster, Sentinel). */
  #ready(): void {
    // A single node reports ready twice (its event, then its connect() promise): one transition.
    if (this.state === 'closed' || this.state === 'ready') return
    const recovered = this.#everReady && this.#lostSinceReady
    const wasDown = this.lastError !== undefined
    this.state = 'ready'
    this.lastError = undefined
    this.#lastClientError = undefined
    this.#everReady = true
    this.#lostSinceReady = false
    this.#retries = 0
    this.#gate?.resolve()
    this.#gate = undefined
    this.#manager.connectionReady(this, recovered, wasDown)
  }

  /** A connection attempt failed, or an established connection was lost. */
  #failed(failure: Error, fromConnect: boolean): void {
    if (this.state === 'closed') return
    // A Cluster that reached none of its seed nodes says only that; the reason (a TLS certificate, a
    // refused port) is the last error a node reported while it tried.
    const cause =
      failure.constructor.name === 'RootNodesUnavailableError' && this.#lastClientError
        ? this.#lastClientError
        : failure
    this.lastError = cause
    if (this.#everReady) this.#lostSinceReady = true
    this.state = 'down'
    const gate = this.#gate
    this.#gate = undefined
    if (gate) gate.reject(cause)
    this.#manager.connectionFailed(this, cause)
    // A single node retries by itself (its reconnect strategy); a Cluster or Sentinel connect that
    // failed as a whole is retried here, with the same backoff.
    if (fromConnect && this.#manager.retriesItself(this) === false) {
      const timer = setTimeout(
        () => {
          if (this.state === 'down') this.#connect()
        },
        retryDelay(this.#retries++),
      )
      timer.unref()
    }
  }

  /** Events the client reports by itself (single node, and node errors on Cluster). */
  wire(): void {
    const raw = this.raw as unknown as EventEmitter
    raw.on('error', (error: unknown) => {
      if (error instanceof Error) this.#lastClientError = error
      this.#manager.clientError(this, error)
    })
    if (this.commands instanceof NodeCommands) {
      raw.on('ready', () => this.#ready())
      raw.on('end', () => {
        if (this.state === 'ready') this.state = 'down'
      })
    } else if (this.commands instanceof ClusterCommands) {
      this.#topology = this.#manager.watchTopology(this, this.commands.raw)
      if (this.role === 'subscriber') {
        // A Cluster's node clients say when they drop, but not when they are back (their 'ready' fires
        // once): after a drop, wait for the pub/sub node to be ready again, then announce the reconnect.
        const lost = () => this.#watchPubSubReturn()
        raw.on('node-disconnect', lost)
        raw.on('node-reconnecting', lost)
      }
    }
  }

  #topology: ClusterTopologyWatch | undefined
  /** The last error the client emitted (on a Cluster: a node's), for a failure that names no reason. */
  #lastClientError: Error | undefined

  #returnTimer: NodeJS.Timeout | undefined

  #watchPubSubReturn(): void {
    if (this.#returnTimer || this.state === 'closed') return
    const cluster = this.raw as { pubSubNode?: { client?: { isReady?: boolean } } }
    const started = Date.now()
    this.#returnTimer = setInterval(() => {
      if (this.state === 'closed' || Date.now() - started > PUBSUB_RETURN_WAIT_MS) {
        clearInterval(this.#returnTimer)
        this.#returnTimer = undefined
        return
      }
      if (cluster.pubSubNode?.client?.isReady !== true) return
      clearInterval(this.#returnTimer)
      this.#returnTimer = undefined
      this.#manager.subscriberReturned()
    }, 50)
    this.#returnTimer.unref()
  }

  /** Called by the reconnect strategy of a single-node client for every failed attempt. */
  attemptFailed(retries: number, cause: Error): number {
    this.#failed(cause, false)
    return retryDelay(retries)
  }

  /** Marks the connection down after the watchdog dropped it; callers fail fast until it is back. */
  stalled(error: Error): void {
    this.#failed(error, false)
  }

  /** Marks the connection closed: late events are ignored and waiting callers are told. */
  close(): void {
    this.state = 'closed'
    if (this.#returnTimer) clearInterval(this.#returnTimer)
    this.#topology?.close()
    this.#gate?.reject(new RedkitClosedError())
    this.#gate = undefined
  }
}

/**
 * Creates and guards the node-redis connections of one redkit instance.
 * Internal: features reach Redis through the store, never through this class.
 */
export class ConnectionManager extends EventEmitter<ManagerEvents> {
  readonly breaker: CircuitBreaker
  readonly #options: ResolvedOptions
  readonly #target: RedisTarget
  readonly #connections = new Map<ConnectionRole, Connection>()
  readonly #secrets: string[]
  #command: Connection | undefined
  #watchdog: CommandWatchdog | undefined
  #deadlines: CommandDeadlines | undefined
  #inFlight = 0
  #drained: (() => void) | undefined
  #closing: Promise<void> | undefined
  /** When the last OOM reply was seen (health reports `degraded` for a while after). */
  lastOutOfMemoryAt = 0

  constructor(options: ResolvedOptions) {
    super()
    if (options.target.mode === 'memory') throw new Error('ConnectionManager needs a Redis target')
    this.#options = options
    this.#target = options.target
    this.#secrets = [
      options.target.password,
      'sentinelPassword' in options.target ? options.target.sentinelPassword : undefined,
    ]
      .filter((secret) => secret !== undefined)
      .map((secret) => secret.reveal())
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
          error: change.error === undefined ? undefined : this.#safeMessage(change.error),
        },
        `redkit: Redis circuit breaker ${change.to}`,
      )
      this.emit('stateChange', change)
    })
  }

  /** The raw node-redis client of a role (created on first use), for BullMQ's adapter. */
  raw(role: ConnectionRole): RawClient {
    const connection = this.#connection(role)
    connection.open()
    return connection.raw
  }

  /** The state of a role's connection, `idle` when it was never needed. */
  state(role: ConnectionRole): { state: ConnectionState; error?: string } {
    const connection = this.#connections.get(role)
    if (!connection) return { state: 'idle' }
    const error = connection.lastError
    return error === undefined
      ? { state: connection.state }
      : { state: connection.state, error: this.#describeFailure(connection, error) }
  }

  /** Whether a role's connection exists. */
  has(role: ConnectionRole): boolean {
    return this.#connections.has(role)
  }

  /**
   * Runs a command on the command connection through the breaker. Connection errors and timeouts
   * become {@link RedisUnavailableError} (or its auth/database subtypes); reply errors become
   * `StoreCommandError` (`RedisOutOfMemoryError` for OOM).
   */
  run<R, T = R>(
    command: string,
    fn: (client: CommandClient) => Promise<R>,
    map?: (reply: R) => T,
  ): Promise<T> {
    if (this.#closing) return Promise.reject(new RedkitClosedError())
    const admission = this.breaker.admit()
    if (admission instanceof Error) return Promise.reject(admission)
    const connection = this.#command ?? this.#connection('command')
    if (!connection.ready) {
      return connection.whenReady(this.#options.commandTimeoutMs).then(
        () => this.#send(connection, command, fn, map, admission),
        (error: unknown) => this.#fail(command, error, admission),
      )
    }
    return this.#send(connection, command, fn, map, admission)
  }

  /** Sends a command on a ready connection. One .then per command: it sits on every call, so it allocates little. */
  #send<R, T>(
    connection: Connection,
    command: string,
    fn: (client: CommandClient) => Promise<R>,
    map: ((reply: R) => T) | undefined,
    admission: boolean,
  ): Promise<T> {
    this.#inFlight++
    const call = fn(connection.commands) as Promise<R>
    return (this.#deadlines ? this.#deadlines.track(call) : call).then(
      (reply) => {
        this.#settled()
        this.breaker.succeeded(admission)
        return map ? map(reply) : (reply as unknown as T)
      },
      (error: unknown) => {
        this.#settled()
        return this.#fail(command, error, admission)
      },
    )
  }

  #fail(command: string, error: unknown, admission: boolean): never {
    // A client saying "offline" or "closed" is only the symptom: the connection's last failure is the cause.
    const connection = this.#command
    const cause = isSymptom(error) && connection?.lastError ? connection.lastError : error
    const translated = this.#translate(command, cause)
    this.breaker.failed(translated, admission, isConnectionFailure(translated))
    throw translated
  }

  /**
   * Runs a command outside the breaker's count (neither its success nor its failure counts): for
   * diagnostics such as INFO, which a restricted ACL user may not run while everything else works.
   */
  runUncounted<R>(command: string, fn: (client: CommandClient) => Promise<R>): Promise<R> {
    if (this.#closing) return Promise.reject(new RedkitClosedError())
    const connection = this.#command ?? this.#connection('command')
    return connection
      .whenReady(this.#options.commandTimeoutMs)
      .then(() => fn(connection.commands))
      .catch((error: unknown) => {
        throw this.#translate(command, error)
      })
  }

  /**
   * Like {@link run}, on the subscriber connection (SUBSCRIBE and friends). Waits for the connection up to
   * `connectTimeout + commandTimeout`; with `detachWhenDown`, a call made while the connection is down
   * resolves at once (the client drops the channel from what it resubscribes to, and the server forgot it).
   */
  runSubscriber<T>(
    command: string,
    fn: (client: RawClient) => Promise<T>,
    options: { detachWhenDown?: boolean } = {},
  ): Promise<T | undefined> {
    if (this.#closing) return Promise.reject(new RedkitClosedError())
    const connection = this.#connection('subscriber')
    const waitMs = this.#options.connectTimeoutMs + this.#options.commandTimeoutMs
    if (options.detachWhenDown && !connection.ready) {
      fn(connection.raw).catch(() => {})
      return Promise.resolve(undefined)
    }
    // A single node queues the command until it is connected; a Cluster needs its slots first.
    connection.open()
    const ready = this.retriesItself(connection) ? Promise.resolve() : connection.whenReady(waitMs)
    const call = ready.then(() => fn(connection.raw))
    return withTimeout(call, waitMs, () => new StalledError()).catch((error: unknown) => {
      throw this.#translate(command, error)
    })
  }

  /**
   * Closes every connection: waits for in-flight commands up to `closeTimeout`, sends QUIT,
   * and drops whatever did not finish. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    const deadline = this.#options.closeTimeoutMs
    if (this.#inFlight > 0) {
      const drained = new Promise<void>((resolve) => (this.#drained = resolve))
      await withTimeout(drained, deadline, () => new StalledError()).catch(() => {})
    }
    this.#watchdog?.stop()
    this.#deadlines?.stop()
    await Promise.all(
      [...this.#connections.values()].map(async (connection) => {
        const wasReady = connection.ready
        connection.close()
        if (connection.provided) return
        const raw = connection.raw as unknown as {
          isOpen: boolean
          close?: () => Promise<void>
          quit?: () => Promise<unknown>
          destroy(): unknown
        }
        if (wasReady && raw.isOpen) {
          try {
            const quit = raw.close ? raw.close() : raw.quit?.()
            await withTimeout(Promise.resolve(quit), Math.min(deadline, 1000), () => new StalledError())
            return
          } catch {
            // QUIT could not be delivered (server gone or hung): drop the socket instead.
          }
        }
        try {
          if (raw.isOpen) await raw.destroy()
        } catch {
          // Already closed.
        }
      }),
    )
    this.#connections.clear()
    this.#command = undefined
  }

  /** @internal the connection of a role became ready. */
  connectionReady(connection: Connection, recovered: boolean, wasDown: boolean): void {
    if (connection.role === 'producer') {
      // BullMQ sends its first commands (INFO, script loads) before the socket is up, so the producer
      // queues until its first connection, and fails fast from then on.
      const options = (connection.raw as { options?: { disableOfflineQueue?: boolean } }).options
      if (options) options.disableOfflineQueue = true
    }
    if (recovered || wasDown) {
      this.#options.logger.info(
        { role: connection.role, target: this.#options.describe },
        'redkit: reconnected',
      )
    }
    if (connection.role === 'subscriber' && recovered) this.emit('subscriberReconnect')
    // The connection itself says the server is back: probe now instead of waiting out the cooldown.
    if (connection.role === 'command' && this.breaker.state !== 'closed') {
      this.breaker.expireCooldown()
      this.run('PING', (c) => c.send(['PING'])).catch(() => {})
    }
  }

  /**
   * @internal keeps the slot map of a role's Cluster client current after a node drops. Whole again means
   * every master reachable (command) or the pub/sub node back (subscriber); the breaker then probes at once.
   */
  watchTopology(connection: Connection, cluster: RedisClusterType): ClusterTopologyWatch {
    const view = cluster as unknown as {
      masters: readonly { client?: { isReady?: boolean } }[]
      pubSubNode?: { client?: { isReady?: boolean } }
    }
    const isHealed =
      connection.role === 'subscriber'
        ? () => view.pubSubNode === undefined || view.pubSubNode.client?.isReady === true
        : () => view.masters.length > 0 && view.masters.every((node) => node.client?.isReady === true)
    return new ClusterTopologyWatch(cluster, isHealed, this.#options.commandTimeoutMs, () => {
      if (connection.role !== 'command') return
      this.#options.logger.info({ target: this.#options.describe }, 'redkit: cluster slot map refreshed')
      if (this.breaker.state !== 'closed') {
        this.breaker.expireCooldown()
        this.run('PING', (c) => c.send(['PING'])).catch(() => {})
      }
    })
  }

  /** @internal the subscriber came back after a drop on a Cluster (see `Connection.wire`). */
  subscriberReturned(): void {
    this.#options.logger.info({ role: 'subscriber', target: this.#options.describe }, 'redkit: reconnected')
    this.emit('subscriberReconnect')
  }

  /** @internal a connection attempt of a role failed or its connection was lost. */
  connectionFailed(connection: Connection, cause: Error): void {
    this.#options.logger.debug(
      { role: connection.role, error: this.#describeFailure(connection, cause) },
      'redkit: connection failed',
    )
  }

  /** @internal an `error` event of a client. */
  clientError(connection: Connection, error: unknown): void {
    this.#options.logger.debug(
      { role: connection.role, error: this.#safeMessage(error) },
      'redkit: connection error',
    )
  }

  /** @internal whether the client of a connection reconnects by itself (single node) or needs help. */
  retriesItself(connection: Connection): boolean {
    return connection.commands instanceof NodeCommands
  }

  #connection(role: ConnectionRole): Connection {
    if (this.#closing) throw new RedkitClosedError()
    let connection = this.#connections.get(role)
    if (connection) return connection
    // A single node's failed attempts are the connection's; on Cluster or Sentinel they are one node's,
    // and the client routes around them (commands for that node fail fast while it is away).
    const single = this.#target.mode === 'redis'
    const hooks = {
      reconnect: (retries: number, cause: Error) =>
        single ? connection!.attemptFailed(retries, cause) : this.#nodeAttemptFailed(role, retries, cause),
    }
    const own = this.#options.client as RawClient | undefined
    const provided = own !== undefined && role === 'command'
    const raw = own
      ? provided
        ? own
        : ((own as unknown as { duplicate(): RawClient }).duplicate() as RawClient)
      : createRawClient(this.#options, this.#target, role, hooks)
    const commands =
      this.#target.mode === 'cluster'
        ? new ClusterCommands(raw as RedisClusterType)
        : this.#target.mode === 'sentinel'
          ? new SentinelCommands(raw as never)
          : new NodeCommands(raw as RedisClientType)
    connection = new Connection(this, role, raw, commands, provided)
    connection.wire()
    this.#connections.set(role, connection)
    if (role === 'command') {
      this.#command = connection
      // The watchdog drops a stalled connection: never done to the app's own client.
      if (commands instanceof NodeCommands && !provided) this.#watch(connection, commands.raw)
      else this.#deadlines = new CommandDeadlines(this.#options.commandTimeoutMs)
    }
    return connection
  }

  /**
   * A single node's command timeout: one watchdog for the connection, nothing per command. On a stall it
   * drops the connection (every pending command fails at once) and opens a new one.
   */
  #watch(connection: Connection, raw: RedisClientType): void {
    this.#watchdog = new CommandWatchdog(
      this.#options.commandTimeoutMs,
      () => this.#inFlight,
      () => {
        if (!raw.isReady || this.#closing) return
        connection.stalled(new StalledError())
        raw.destroy()
        raw.connect().catch(() => {})
      },
    )
  }

  #nodeAttemptFailed(role: ConnectionRole, retries: number, cause: Error): number {
    this.#options.logger.debug({ role, error: this.#safeMessage(cause) }, 'redkit: node connection failed')
    return retryDelay(retries)
  }

  #settled(): void {
    this.#watchdog?.progress()
    this.#inFlight--
    if (this.#drained !== undefined && this.#inFlight === 0) this.#drained()
  }

  #translate(command: string, error: unknown): unknown {
    const translated = translateClientError(error, {
      command,
      where: this.#where(),
      timeoutMs: this.#options.commandTimeoutMs,
      secrets: this.#secrets,
    })
    if ((translated as { code?: string }).code === 'REDKIT_OOM') this.lastOutOfMemoryAt = Date.now()
    return translated
  }

  #describeFailure(connection: Connection, error: Error): string {
    return errorMessage(this.#translate(connection.role, error))
  }

  #safeMessage(error: unknown): string {
    return errorMessage(scrubError(error, this.#secrets))
  }

  #where(): string {
    const target = this.#target
    if (target.mode === 'redis') return `${target.host}:${target.port}`
    return this.#options.describe
  }
}

/** Client errors that only say "not connected"; the connection's last failure says why. */
function isSymptom(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const name = error.constructor.name
  return name === 'ClientOfflineError' || name === 'ClientClosedError' || name === 'DisconnectsClientError'
}
