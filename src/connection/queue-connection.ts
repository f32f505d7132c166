// The connection BullMQ gets from kit.queueConnection(): node-redis wrapped in BullMQ's own adapter on a
// single node; on Cluster and Sentinel, which that adapter does not cover, an ioredis client (optional peer).

import { createRequire } from 'node:module'
import type { RedisClientType } from '@redis/client'
import type { ResolvedOptions } from '../config/options.js'
import { InvalidOptionsError } from '../errors.js'
import type { ConnectionManager } from './connection-manager.js'
import { type RedisTarget, retryDelay } from './redis-clients.js'
import { withTimeout } from './with-timeout.js'

/**
 * What `kit.queueConnection()` returns: pass it as BullMQ's `connection`. Opaque on purpose, so the
 * public types do not depend on BullMQ's or ioredis's.
 */
export interface QueueConnection {
  /** Closes the connection (BullMQ closes its duplicates itself). */
  quit(): Promise<unknown>
}

const load = createRequire(import.meta.url)

function peer<T>(name: string, why: string): T {
  try {
    return load(name) as T
  } catch {
    throw new InvalidOptionsError(`${why} needs the '${name}' package; install it (\`npm install ${name}\`).`)
  }
}

/** Options of `kit.queueConnection()`. */
export interface QueueConnectionOptions {
  /**
   * A connection for producers (`Queue`, `FlowProducer`) that rejects commands at once while Redis is
   * unreachable, instead of holding them until it is back: pair it with BullMQ's
   * `skipWaitingForReady: true`, so `queue.add()` in a request handler fails fast (await
   * `queue.waitUntilReady()` once at startup). Workers need the default (waiting) connection. Its own
   * socket, created once. Single node only (on Cluster and Sentinel it throws `InvalidOptionsError`).
   * @default false
   * @example new Queue('mail', { connection: kit.queueConnection({ failFast: true }), skipWaitingForReady: true })
   */
  failFast?: boolean
}

/** What queueConnection() throws on the embedded store. */
export function noQueueWithoutRedis(): InvalidOptionsError {
  return new InvalidOptionsError(
    'queueConnection() needs a Redis server: BullMQ cannot run on the embedded store. Set REDIS_URL.',
  )
}

/** Builds a queue connection of a kit: on the manager's `queue` (or `producer`) role for a single node, else ioredis. */
export function createQueueConnection(
  manager: ConnectionManager,
  options: ResolvedOptions,
  failFast = false,
): { connection: QueueConnection; close(): Promise<void> } {
  const target = options.target
  if (target.mode === 'memory') throw noQueueWithoutRedis()
  if (target.mode === 'redis') {
    const { createNodeRedisClient } = peer<{ createNodeRedisClient(raw: unknown): QueueConnection }>(
      'bullmq',
      'queueConnection()',
    )
    const connection = createNodeRedisClient(manager.raw(failFast ? 'producer' : 'queue') as RedisClientType)
    // The socket is the manager's role connection: kit.close() closes (or drops) it with the others.
    return { connection, close: () => Promise.resolve() }
  }
  if (failFast) {
    // BullMQ's first commands go out before the socket is up; on ioredis, failing those breaks the queue,
    // and nothing here flips a connection to fail fast after its first connect as on a single node.
    throw new InvalidOptionsError(
      `queueConnection({ failFast: true }) is available on a single node only, not on ${target.mode}; use the default connection (it waits for Redis).`,
    )
  }
  const client = ioredisClient(target, options)
  return {
    connection: client,
    close: async () => {
      await withTimeout(client.quit(), 1000, () => new Error('QUIT timed out')).catch(() => {})
      client.disconnect()
    },
  }
}

type IoredisClient = QueueConnection & { disconnect(): void }

function ioredisClient(
  target: Exclude<RedisTarget, { mode: 'redis' }>,
  options: ResolvedOptions,
): IoredisClient {
  const ioredis = peer<{
    Redis: new (options: object) => IoredisClient
    Cluster: new (nodes: object[], options: object) => IoredisClient
  }>('ioredis', `queueConnection() on ${target.mode}`)
  const base = {
    username: target.username,
    password: target.password?.reveal(),
    tls: target.tls,
    connectionName: `${options.app}:queue`,
    maxRetriesPerRequest: null,
    enableReadyCheck: false,
    retryStrategy: (times: number) => retryDelay(times),
  }
  if (target.mode === 'cluster') {
    return new ioredis.Cluster(
      target.nodes.map((node) => ({ host: node.host, port: node.port })),
      {
        redisOptions: base,
        maxRetriesPerRequest: null,
        clusterRetryStrategy: (times: number) => retryDelay(times),
      },
    )
  }
  return new ioredis.Redis({
    ...base,
    sentinels: target.sentinels.map((node) => ({ host: node.host, port: node.port })),
    name: target.name,
    db: target.db,
    sentinelPassword: target.sentinelPassword?.reveal(),
    sentinelRetryStrategy: (times: number) => retryDelay(times),
  })
}
