// The keyspace sample of the metrics route over real HTTP, on the embedded store and a real redis-server:
// key counts per namespace, MEMORY USAGE estimates, reuse for its ttl, the maxKeys and time bounds.

import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import {
  type MetricsBody,
  type MetricsRoutesOptions,
  metricsRoutes,
} from '../../src/integrations/express/index.js'
import { listenOn, type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'
import { getJson } from './serve.js'

const COMMAND_TIMEOUT = 400
const closers: (() => Promise<void>)[] = []

afterAll(async () => {
  for (const close of closers.splice(0)) await close()
  await stopAllServers()
})

async function listen(kit: Redkit, options: MetricsRoutesOptions): Promise<string> {
  const app = express()
  app.use(metricsRoutes(kit, options))
  return listenOn(app, closers)
}

async function keyspace(url: string): Promise<NonNullable<MetricsBody['keyspace']>> {
  const { status, body } = await getJson<MetricsBody>(url, '/metrics/redkit')
  expect(status).toBe(200)
  return body.keyspace!
}

describe.each(['memory', 'redis'] as const)('keyspace sample on %s', (mode) => {
  let server: RedisServer | undefined
  let kit: Redkit

  beforeAll(async () => {
    if (mode === 'redis') server = await startRedis()
    kit = createRedkit({
      url: server?.url ?? 'memory',
      app: 'sample',
      environment: {},
      commandTimeout: COMMAND_TIMEOUT,
    })
    closers.push(() => kit.close())
    const products = kit.cache('products', { ttl: '1h' })
    const orders = kit.cache('orders', { ttl: '1h', version: 2 })
    for (let i = 0; i < 30; i++) await products.set(['product', i], { id: i, name: `product ${i}` })
    for (let i = 0; i < 10; i++)
      await orders.set(['order', i], { id: i, lines: Array.from({ length: i }, () => 'x') })
    // Keys that are not cache entries are not counted.
    await kit.limiter('api', { limit: 5, window: '1m' }).consume('client')
    await kit.store.set(kit.keys.build('other', 'key'), 'value')
  })

  it('counts the keys of each namespace and estimates their memory', async () => {
    const url = await listen(kit, { sample: { ttl: '1h' } })
    const sample = await keyspace(url)
    expect(sample.complete).toBe(true)
    expect(sample.error).toBeUndefined()
    expect(sample.scannedKeys).toBe(40)
    expect(Object.keys(sample.namespaces).sort()).toEqual(['orders', 'products'])
    const { products, orders } = sample.namespaces
    expect(products).toMatchObject({ keys: 30, sampledKeys: 20 })
    expect(orders).toMatchObject({ keys: 10, sampledKeys: 10 })
    for (const namespace of [products!, orders!]) {
      expect(namespace.avgBytes).toBeGreaterThan(40)
      expect(namespace.memoryBytes).toBe(namespace.avgBytes * namespace.keys)
    }
    if (server) {
      // Every order was sampled: the average is exactly that of Redis' own MEMORY USAGE.
      const cache = kit.cache('orders')
      const sizes = await Promise.all(
        Array.from({ length: 10 }, async (_, i) =>
          Number(await server!.cli('MEMORY', 'USAGE', cache.keyOf(['order', i]))),
        ),
      )
      expect(orders!.avgBytes).toBe(Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length))
    }
    expect(Date.parse(sample.sampledAt)).not.toBeNaN()
    expect(sample.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('reuses a sample for its ttl, and takes a new one after', async () => {
    const url = await listen(kit, { sample: { ttl: '300ms' } })
    const first = await keyspace(url)
    const cache = kit.cache('products')
    await cache.set(['product', 'extra'], { id: 'extra' })
    const again = await keyspace(url)
    expect(again).toEqual(first)
    const fresh = await waitFor(
      async () => {
        const next = await keyspace(url)
        return next.namespaces.products?.keys === 31 ? next : undefined
      },
      { timeoutMs: 3000, message: 'no new sample after the ttl' },
    )
    expect(fresh!.sampledAt).not.toBe(first.sampledAt)
    await cache.delete(['product', 'extra'])
  })

  it('stops at maxKeys and says the counts are lower bounds', async () => {
    const url = await listen(kit, { sample: { ttl: 0, maxKeys: 5 } })
    const sample = await keyspace(url)
    expect(sample.complete).toBe(false)
    expect(sample.scannedKeys).toBeGreaterThanOrEqual(5)
    const counted = Object.values(sample.namespaces).reduce((sum, namespace) => sum + namespace.keys, 0)
    expect(counted).toBe(sample.scannedKeys)
    expect(counted).toBeLessThanOrEqual(40)
  })

  // Only a real server can hang; the embedded store has nothing to pause.
  if (mode === 'redis') {
    it('a hung server cannot hold the route past the sample budget', async () => {
      const url = await listen(kit, { sample: { ttl: 0, budget: '100ms' } })
      server!.pause()
      try {
        const { status, body, ms } = await getJson<MetricsBody>(url, '/metrics/redkit')
        expect(status).toBe(200)
        expect(ms).toBeLessThan(100 + 350)
        expect(body.keyspace?.complete).toBe(false)
        expect(body.keyspace?.error).toBe('stopped after 100 ms (budget)')
      } finally {
        server!.resume()
      }
      await waitFor(async () => (await keyspace(url)).complete, {
        timeoutMs: 10_000,
        message: 'no full sample after SIGCONT',
      })
    })
  }
})
