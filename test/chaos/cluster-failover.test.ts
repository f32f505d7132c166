// Cluster failover under load: a master is kill -9'd while readers run and its replica is promoted.
// Every read answers (cached or factory value) within one command timeout, caching resumes soon after
// the promotion, and the bus delivers again even when its pub/sub node was the master that died.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { type RedisCluster, startCluster, stopAllServers, waitFor } from '../harness/index.js'
import { startReaders } from './failover-readers.js'

const COMMAND_TIMEOUT_MS = 500
let cluster: RedisCluster
let kit: Redkit
let other: Redkit

beforeAll(async () => {
  cluster = await startCluster({ nodeTimeoutMs: 1000 })
  const options = { cluster: { nodes: cluster.nodes }, commandTimeout: COMMAND_TIMEOUT_MS, environment: {} }
  kit = createRedkit(options)
  other = createRedkit(options)
  await Promise.all([kit.ready(), other.ready()])
}, 120_000)
afterAll(async () => {
  await Promise.all([kit?.close(), other?.close()])
  await stopAllServers()
})

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('Cluster master kill -9 under read load', () => {
  it('answers every read within the command timeout and resumes caching after the promotion', async () => {
    const cache = kit.cache('failover', { ttl: '1m' })
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`)
    for (const key of keys) await cache.set(key, key)
    const received: number[] = []
    await kit.bus.subscribe('failover', (message) => received.push((message as { n: number }).n))

    const load = startReaders(cache, keys)
    await pause(300)
    expect(load.factoryAt).toEqual([])

    const [victim] = await cluster.masters()
    await victim!.kill9()
    await waitFor(
      async () => {
        const masters = await cluster.masters()
        return masters.length === 3 && !masters.includes(victim!)
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    )
    const promotedAt = performance.now()
    await pause(3000)
    await load.stop()

    const lastFactoryCall = load.factoryAt.at(-1) ?? promotedAt
    const recoveryMs = Math.max(0, lastFactoryCall - promotedAt)
    // Caching is back: the last factory call came soon after the promotion, none in the last second.
    expect(load.errors).toEqual([])
    expect(load.slowestMs).toBeLessThan(COMMAND_TIMEOUT_MS + 250)
    expect(recoveryMs).toBeLessThan(1500)
    expect(load.calls).toBeGreaterThan(1000)

    // The bus: a message published after the failover reaches the subscriber of the other instance.
    await waitFor(
      async () => {
        await other.bus.publish('failover', { n: received.length })
        await pause(100)
        return received.length > 0
      },
      { timeoutMs: 10_000 },
    )
  }, 60_000)
})
