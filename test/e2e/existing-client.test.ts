// An app that already has a node-redis client hands it to redkit: redkit uses it for commands, opens its
// own subscriber from it, keeps the breaker and timeout, and leaves the client open on close.

import { createClient, createCluster } from '@redis/client'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit, InvalidOptionsError } from '../../src/index.js'
import { startCluster, startRedis, stopAllServers, waitFor } from '../harness/index.js'

afterAll(() => stopAllServers())

describe('createRedkit({ client })', () => {
  it('runs commands and the bus on the app client, and does not close it', async () => {
    const server = await startRedis()
    const client = createClient({ url: server.url, name: 'app-own' })
    await client.connect()
    const kit = createRedkit({ client, app: 'own' })
    expect(kit.mode).toBe('redis')
    await kit.store.set('own:k', 'v')
    expect(await client.get('own:k')).toBe('v')
    const cache = kit.cache<{ n: number }>('c', { ttl: '1m' })
    expect(await cache.getOrSet('x', async () => ({ n: 1 }))).toEqual({ n: 1 })
    const received: unknown[] = []
    await kit.bus.subscribe('ch', (payload) => received.push(payload), { includeSelf: true })
    await kit.bus.publish('ch', 'hello')
    await waitFor(() => received.length === 1, { message: 'bus message not delivered' })
    expect((await kit.health()).status).toBe('healthy')
    const before = Number((await server.cli('INFO', 'clients')).match(/connected_clients:(\d+)/)?.[1])
    await kit.close()
    // The app's client still works; the subscriber redkit opened is gone.
    expect(await client.get('own:k')).toBe('v')
    await waitFor(
      async () =>
        Number((await server.cli('INFO', 'clients')).match(/connected_clients:(\d+)/)?.[1]) < before,
      { message: 'the subscriber connection was not closed' },
    )
    await client.close()
    await server.stop()
  })

  it('connects a client that is not open yet', async () => {
    const server = await startRedis()
    const client = createClient({ url: server.url })
    const kit = createRedkit({ client, app: 'lazy' })
    expect(await kit.store.set('lazy:k', '1')).toBe(true)
    expect(client.isOpen).toBe(true)
    await kit.close()
    expect(client.isOpen).toBe(true)
    await client.close()
    await server.stop()
  })

  it('refuses a client together with connection options', () => {
    const client = createClient()
    expect(() => createRedkit({ client, url: 'redis://localhost:6379' })).toThrow(InvalidOptionsError)
    expect(() => createRedkit({ client: {} as never })).toThrow(/node-redis client/)
  })

  it('accepts a cluster client', async () => {
    const cluster = await startCluster()
    const client = createCluster({ rootNodes: [{ socket: cluster.nodes[0] }] })
    await client.connect()
    const kit = createRedkit({ client, app: 'owncl' })
    expect(kit.mode).toBe('cluster')
    const keys = Array.from({ length: 50 }, (_, i) => `owncl:${i}`)
    await kit.store.mset(keys.map((key) => ({ key, value: key })))
    expect(await kit.store.mget(keys)).toEqual(keys)
    await kit.close()
    expect(await client.get('owncl:1')).toBe('owncl:1')
    await client.close()
  }, 120_000)
})
