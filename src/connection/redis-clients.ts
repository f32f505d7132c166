// Builds the node-redis client of one role for a single node, a Cluster or a Sentinel group, and gives
// the store one small interface over the three, so no feature code knows which it talks to.

import type { ConnectionOptions as TlsOptions } from 'node:tls'
import {
  createClient,
  createCluster,
  createSentinel,
  RESP_TYPES,
  type RedisArgument,
  type RedisClientType,
  type RedisClusterType,
  type RedisSentinelType,
} from '@redis/client'
import type { ResolvedOptions, ResolvedTarget } from '../config/options.js'

/** The connections redkit opens, each at most once per process. */
export type ConnectionRole = 'command' | 'subscriber' | 'queue' | 'producer'

export type RedisTarget = Exclude<ResolvedTarget, { mode: 'memory' }>

/** A node-redis client of any mode, as created here. */
export type RawClient = RedisClientType | RedisClusterType | RedisSentinelType

/** Asks the client for bulk strings as Buffers instead of text. */
const BUFFERS = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as const

/**
 * What the store sends commands through. Replies are RESP2 values as the client decodes them: text (or
 * Buffers from {@link sendBuffers}), integers, null, arrays. `key` routes the command on Cluster.
 */
export interface CommandClient {
  send(args: RedisArgument[], key?: RedisArgument): Promise<unknown>
  sendBuffers(args: RedisArgument[], key?: RedisArgument): Promise<unknown>
  /** One client per master, for commands that must visit every node (SCAN). */
  masters(): Promise<CommandClient[]>
}

/** A node's client as a {@link CommandClient}. */
export class NodeCommands implements CommandClient {
  readonly raw: RedisClientType

  constructor(raw: RedisClientType) {
    this.raw = raw
  }

  send(args: RedisArgument[]): Promise<unknown> {
    return this.raw.sendCommand(args)
  }

  sendBuffers(args: RedisArgument[]): Promise<unknown> {
    return this.raw.sendCommand(args, BUFFERS)
  }

  masters(): Promise<CommandClient[]> {
    return Promise.resolve([this])
  }
}

/** A Cluster client as a {@link CommandClient}: commands go to the master of their key's slot. */
export class ClusterCommands implements CommandClient {
  readonly raw: RedisClusterType

  constructor(raw: RedisClusterType) {
    this.raw = raw
  }

  send(args: RedisArgument[], key?: RedisArgument): Promise<unknown> {
    return this.raw.sendCommand(key, false, args)
  }

  sendBuffers(args: RedisArgument[], key?: RedisArgument): Promise<unknown> {
    return this.raw.sendCommand(key, false, args, BUFFERS)
  }

  async masters(): Promise<CommandClient[]> {
    const clients = await Promise.all(this.raw.masters.map((master) => this.raw.nodeClient(master)))
    return clients.map((client) => new NodeCommands(client as unknown as RedisClientType))
  }
}

/** A Sentinel-managed client as a {@link CommandClient}: commands go to the current master. */
export class SentinelCommands implements CommandClient {
  readonly raw: RedisSentinelType

  constructor(raw: RedisSentinelType) {
    this.raw = raw
  }

  send(args: RedisArgument[]): Promise<unknown> {
    return this.raw.sendCommand(false, args)
  }

  sendBuffers(args: RedisArgument[]): Promise<unknown> {
    return this.raw.sendCommand(false, args, BUFFERS)
  }

  masters(): Promise<CommandClient[]> {
    return Promise.resolve([this])
  }
}

/** How a role's client reconnects and reports failed attempts. */
export interface ClientHooks {
  /** Called with each failed connection attempt; returns the delay before the next one. */
  reconnect(retries: number, cause: Error): number
}

/** Creates the node-redis client of `role` (not connected yet). */
export function createRawClient(
  options: ResolvedOptions,
  target: RedisTarget,
  role: ConnectionRole,
  hooks: ClientHooks,
): RawClient {
  const name = `${options.app}:${role}`
  const socket = socketOptions(options, target.tls, hooks)
  const auth = {
    username: target.username,
    password: target.password?.reveal(),
  }
  // The command connection fails fast while disconnected: its callers are told at once and the breaker
  // decides. BullMQ's producer connection starts failing fast once first connected (see the manager);
  // the subscriber and BullMQ's worker connection wait for the server to come back.
  const failFast = role === 'command'
  if (target.mode === 'cluster') {
    return createCluster({
      rootNodes: target.nodes.map((node) => ({ socket: { host: node.host, port: node.port } })),
      RESP: 2,
      defaults: { ...auth, name, socket, disableOfflineQueue: failFast },
      maxCommandRedirections: 16,
      // The subscriber needs one node, not a connection to every master.
      minimizeConnections: role !== 'command',
    }) as unknown as RedisClusterType
  }
  if (target.mode === 'sentinel') {
    return createSentinel({
      name: target.name,
      sentinelRootNodes: target.sentinels.map((node) => ({ host: node.host, port: node.port })),
      nodeClientOptions: { ...auth, name, RESP: 2, database: target.db, socket },
      sentinelClientOptions: {
        password: target.sentinelPassword?.reveal(),
        RESP: 2,
        socket,
      },
    }) as unknown as RedisSentinelType
  }
  return createClient({
    ...auth,
    name,
    RESP: 2,
    database: target.db,
    disableOfflineQueue: failFast,
    socket: { ...socket, host: target.host, port: target.port },
  }) as unknown as RedisClientType
}

function socketOptions(options: ResolvedOptions, tls: TlsOptions | undefined, hooks: ClientHooks) {
  const common = {
    connectTimeout: options.connectTimeoutMs,
    keepAlive: true,
    noDelay: true,
    reconnectStrategy: (retries: number, cause: Error) => hooks.reconnect(retries, cause),
  }
  return tls ? { ...common, ...tls, tls: true as const } : common
}

/** Exponential backoff from 50 ms to 2 s with jitter, so many instances do not reconnect in lockstep. */
export function retryDelay(times: number): number {
  const base = Math.min(2000, 50 * 2 ** Math.min(times, 10))
  return Math.round(base / 2 + Math.random() * (base / 2))
}
