// The connection BullMQ gets from kit.queueConnection(): node-redis wrapped in BullMQ's own adapter on a
// single node; on Cluster and Sentinel, which that adapter does not cover, an ioredis client (optional peer).

import { createRequire } from 'node:module'
import type { RedisClientType } from '@redis/client'
import type { ResolvedOptions } from '../config/options.js'
import { InvalidOptionsError } from '../errors.js'
import type { ConnectionManager } from './connection-manager.js'
import { retryDelay } from './redis-clients.js'

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

/** Builds the queue connection of a kit: on the manager's `queue` role for a single node, else ioredis. */
export function createQueueConnection(manager: ConnectionManager, options: ResolvedOptions): QueueConnection {
  const target = options.target
  if (target.mode === 'redis') {
    const { createNodeRedisClient } = peer<{ createNodeRedisClient(raw: unknown): QueueConnection }>(
      'bullmq',
      'queueConnection()',
    )
    return createNodeRedisClient(manager.raw('queue') as RedisClientType)
  }
  const ioredis = peer<{
    Redis: new (options: object) => QueueConnection
    Cluster: new (nodes: object[], options: object) => QueueConnection
  }>('ioredis', `queueConnection() on ${target.mode}`)
  const base = {
    username: target.mode === 'memory' ? undefined : target.username,
    password: target.mode === 'memory' ? undefined : target.password?.reveal(),
    tls: target.mode === 'memory' ? undefined : target.tls,
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
  if (target.mode === 'sentinel') {
    return new ioredis.Redis({
      ...base,
      sentinels: target.sentinels.map((node) => ({ host: node.host, port: node.port })),
      name: target.name,
      db: target.db,
      sentinelPassword: target.sentinelPassword?.reveal(),
      sentinelRetryStrategy: (times: number) => retryDelay(times),
    })
  }
  throw new InvalidOptionsError(
    'queueConnection() needs a Redis server: BullMQ cannot run on the embedded store. Set REDIS_URL.',
  )
}
