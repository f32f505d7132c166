// Cluster mode end to end on a real 6-node Redis Cluster: multi-key work across slots, SCAN on every
// master, pub/sub through the cluster, health.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { type RedisCluster, startCluster, stopAllServers, waitFor } from '../harness/index.js'

let cluster: RedisCluster
let kit: Redkit

beforeAll(async () => {
  cluster = await startCluster()
  kit = createRedkit({ cluster: { nodes: cluster.nodes.slice(0, 2) }, app: 'cl' })
}, 120_000)
afterAll(async () => {
  await kit?.close()
  await stopAllServers()
})

describe('cluster mode', () => {
  it('reports cluster mode and is healthy', async () => {
    expect(kit.mode).toBe('cluster')
    await kit.ready()
    const health = await kit.health()
    expect(health.status).toBe('healthy')
    expect(health.mode).toBe('cluster')
  })

  it('writes, reads and deletes 2,000 keys spread over every master', async () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `cl:spread:${i}`)
    await kit.store.mset(keys.map((key, i) => ({ key, value: String(i), ttlMs: i % 2 ? 60_000 : undefined })))
    expect(await kit.store.mget(keys)).toEqual(keys.map((_, i) => String(i)))
    const perMaster = await Promise.all(
      (await cluster.masters()).map(async (m) => Number(await m.cli('DBSIZE'))),
    )
    expect(perMaster).toHaveLength(3)
    for (const count of perMaster) expect(count).toBeGreaterThan(300)

    const scanned = new Set<string>()
    for await (const batch of kit.store.scan({ match: 'cl:spread:*', count: 500 })) {
      for (const key of batch) scanned.add(key)
    }
    expect(scanned.size).toBe(2000)
    expect(await kit.store.exists(keys)).toBe(2000)
    expect(await kit.store.del(keys)).toBe(2000)
    expect(await kit.store.exists(keys)).toBe(0)
  })

  it('delivers bus messages between two instances', async () => {
    const other = createRedkit({ cluster: { nodes: cluster.nodes.slice(3) }, app: 'cl' })
    const got: unknown[] = []
    await other.bus.subscribe('news', (p) => got.push(p))
    await kit.bus.publish('news', { over: 'cluster' })
    await waitFor(() => got.length === 1, { message: 'bus message not delivered on cluster' })
    expect(got).toEqual([{ over: 'cluster' }])
    await other.close()
  })
})

describe('the bus on cluster after its pub/sub connection is killed', () => {
  it('announces the reconnect (so L1 copies are dropped) and keeps delivering', async () => {
    const other = createRedkit({ cluster: { nodes: cluster.nodes.slice(3) }, app: 'cl' })
    try {
      const got: unknown[] = []
      await other.bus.subscribe('after-kill', (p) => got.push(p))
      let reconnects = 0
      other.bus.onReconnect(() => reconnects++)
      await Promise.all(cluster.servers.map((server) => server.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')))
      await waitFor(() => reconnects > 0, { timeoutMs: 10_000, message: 'no reconnect announced' })
      await waitFor(
        async () => {
          await kit.bus.publish('after-kill', { n: got.length })
          return got.length > 0
        },
        { timeoutMs: 10_000, message: 'no message delivered after the pub/sub connection came back' },
      )
    } finally {
      await other.close()
    }
  })
})

describe('BullMQ on cluster', () => {
  it('runs a queue and a worker on queueConnection() (ioredis, a hash-tagged prefix)', async () => {
    const { Queue, Worker } = await import('bullmq')
    const connection = kit.queueConnection()
    const queue = new Queue('mail', { connection, prefix: '{cl-bull}' })
    const done: unknown[] = []
    const worker = new Worker('mail', async (job) => done.push(job.data), { connection, prefix: '{cl-bull}' })
    try {
      await queue.add('welcome', { to: 'a@example.com' })
      await waitFor(() => done.length === 1, { timeoutMs: 15_000, message: 'job not processed on cluster' })
      expect(done).toEqual([{ to: 'a@example.com' }])
    } finally {
      await worker.close()
      await queue.close()
    }
  })

  it('refuses a fail-fast producer connection, which only a single node offers', () => {
    expect(() => kit.queueConnection({ failFast: true })).toThrow(/single node only/)
  })
})
