// With the redis-server killed, cached routes still answer 200 from their handler on Express and
// Fastify, and invalidateOn logs and counts its failure without touching the mutation's response.

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { collectingLogger, type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'
import { expressFramework, fastifyFramework } from './test-apps.js'

let server: RedisServer
let kit: Redkit
const logger = collectingLogger()
const frameworks = [expressFramework(), fastifyFramework()]

beforeAll(async () => {
  server = await startRedis()
  kit = createRedkit({
    url: server.url,
    app: `outage${randomUUID().slice(0, 6)}`,
    environment: {},
    logger,
    commandTimeout: 500,
  })
})
afterAll(async () => {
  for (const framework of frameworks) await framework.closeAll()
  await kit.close()
  await stopAllServers()
})

describe('HTTP caching while Redis is down', () => {
  it('answers 200 from the handler on every framework, and counts the failed invalidation', async () => {
    const runs: Record<string, number> = { express: 0, fastify: 0 }
    const servers = []
    for (const framework of frameworks) {
      const cache = kit.cache(`outage-${framework.name}`, { ttl: '1m', tier: 'list' })
      servers.push({
        name: framework.name,
        ...(await framework.serve((app) => {
          app.cached('/products', cache, { tags: () => ['products'] }, () => {
            runs[framework.name]!++
            return { body: { runs: runs[framework.name] } }
          })
          app.mutation(
            '/products',
            kit,
            () => ['products'],
            () => ({ status: 201, body: 'created' }),
          )
        })),
      })
    }
    for (const { url } of servers) {
      await (await fetch(`${url}/products`)).text()
      expect((await fetch(`${url}/products`)).headers.get('x-cache')).toBe('HIT')
    }

    await server.kill9()

    for (const { name, url } of servers) {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${url}/products?page=${i}`)
        expect(res.status, name).toBe(200)
        expect(res.headers.get('x-cache'), name).toBe('MISS')
        expect(await res.json()).toEqual({ runs: runs[name] })
      }
      const created = await fetch(`${url}/products`, { method: 'POST' })
      expect(created.status, name).toBe(201)
      expect(await created.text()).toBe('created')
    }
    expect(runs).toEqual({ express: 4, fastify: 4 })
    const metrics = () => (kit.metrics().http as { invalidateOn: { errors: number } }).invalidateOn
    await waitFor(() => metrics().errors === 2, { message: 'the failed invalidations were not counted' })
    expect(logger.records.some((record) => record.includes('invalidateOn could not invalidate tags'))).toBe(
      true,
    )
  })
})
