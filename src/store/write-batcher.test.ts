import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis, stopAllServers } from '../../test/harness/index.js'
import { createRedkit } from '../index.js'
import { MemoryStore } from './memory/memory-store.js'
import type { Store } from './store.js'
import { batchSetScript, WriteBatcher } from './write-batcher.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => stopAllServers())

async function behaves(store: Store, prefix: string): Promise<void> {
  const batcher = new WriteBatcher(store, 3)
  await store.set(`${prefix}exists`, 'old')
  const results = await Promise.all([
    batcher.set(`${prefix}a`, 'A', 0),
    batcher.set(`${prefix}b`, 'B', 60_000),
    batcher.set(`${prefix}exists`, 'new', 60_000, 'XX'),
    batcher.set(`${prefix}missing`, 'x', 0, 'XX'),
    batcher.set(`${prefix}exists`, 'not written', 0, 'NX'),
  ])
  expect(results).toEqual([true, true, true, false, false])
  expect(await store.mget([`${prefix}a`, `${prefix}b`, `${prefix}exists`, `${prefix}missing`])).toEqual([
    'A',
    'B',
    'new',
    null,
  ])
  expect(await store.pttl(`${prefix}a`)).toBe(-1)
  expect(await store.pttl(`${prefix}b`)).toBeGreaterThan(50_000)
}

describe('WriteBatcher', () => {
  it('writes one tick of SETs with their ttls and conditions (memory)', async () => {
    const store = new MemoryStore()
    await behaves(store, 'm:')
    await store.close()
  })

  it('writes one tick of SETs with their ttls and conditions (Redis, one script call per batch)', async () => {
    const kit = createRedkit({ url: server.url, app: 'wb' })
    const scriptCalls = async () => {
      const stats = await server.cli('INFO', 'commandstats')
      const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
      return calls('evalsha') + calls('eval')
    }
    // Load the script first, so no NOSCRIPT retry is counted below.
    kit.store.defineScript(batchSetScript)
    await kit.store.runScript(batchSetScript.name, [], [])
    const before = await scriptCalls()
    await behaves(kit.store, 'wb:')
    // Five writes in batches of three: two script calls.
    expect((await scriptCalls()) - before).toBe(2)
    await kit.close()
  })

  it('passes a failure to every write of the batch', async () => {
    const store = new MemoryStore()
    const batcher = new WriteBatcher(store)
    await store.close()
    const results = await Promise.allSettled([batcher.set('a', '1', 0), batcher.set('b', '2', 0)])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
  })
})
