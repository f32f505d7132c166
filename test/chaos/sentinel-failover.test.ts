// Sentinel failover under load: the master is kill -9'd while readers run; Sentinel promotes the replica
// and the kit follows it. Every read answers within the command timeout, caching resumes after the
// promotion, and the bus delivers again on the new master.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { type SentinelSetup, startSentinel, stopAllServers, waitFor } from '../harness/index.js'
import { startReaders } from './failover-readers.js'

const COMMAND_TIMEOUT_MS = 500
let setup: SentinelSetup
let kit: Redkit
let other: Redkit

beforeAll(async () => {
  setup = await startSentinel()
  const options = {
    sentinel: { sentinels: setup.sentinels, name: setup.name },
    commandTimeout: COMMAND_TIMEOUT_MS,
    environment: {},
  }
  kit = createRedkit(options)
  other = createRedkit(options)
  await Promise.all([kit.ready(), other.ready()])
}, 120_000)
afterAll(async () => {
  await Promise.all([kit?.close(), other?.close()])
  await setup?.stop()
  await stopAllServers()
})

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('Sentinel master kill -9 under read load', () => {
  it('answers every read within the command timeout and follows the promoted replica', async () => {
    const cache = kit.cache('failover', { ttl: '1m' })
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`)
    for (const key of keys) await cache.set(key, key)
    await waitFor(async () => (await setup.replica.cli('DBSIZE')) !== '0', { message: 'not replicated' })
    const received: unknown[] = []
    await kit.bus.subscribe('after-failover', (message) => received.push(message))

    const load = startReaders(cache, keys)
    await pause(300)
    expect(load.factoryAt).toEqual([])

    await setup.master.kill9()
    // The kit follows once a write to the promoted replica goes through.
    await waitFor(
      async () => {
        try {
          await kit.store.set('probe', '1')
          return (await setup.replica.cli('GET', 'probe')) === '1'
        } catch {
          return false
        }
      },
      { timeoutMs: 40_000, intervalMs: 100, message: 'the kit did not follow the failover' },
    )
    const promotedAt = performance.now()
    await pause(3000)
    await load.stop()

    expect(load.errors).toEqual([])
    expect(load.slowestMs).toBeLessThan(COMMAND_TIMEOUT_MS + 250)
    expect(load.calls).toBeGreaterThan(500)
    // Caching is back soon after the promotion: no factory call in the last two seconds.
    const lastFactoryCall = load.factoryAt.at(-1) ?? promotedAt
    expect(lastFactoryCall - promotedAt).toBeLessThan(1000)

    // The bus: a subscription made before the failover receives what is published after it.
    await waitFor(
      async () => {
        await other.bus.publish('after-failover', { at: Date.now() })
        await pause(100)
        return received.length > 0
      },
      { timeoutMs: 10_000, message: 'no bus message after the failover' },
    )
  }, 90_000)
})
