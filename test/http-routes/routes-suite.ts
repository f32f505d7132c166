// The health, metrics and tier routes over real HTTP, one suite for every framework and store: liveness,
// readiness with extra checks, the Redis and cache views, counters that follow traffic, the tier table.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit, type RedkitOptions, tierTable } from '../../src/index.js'
import type {
  CacheBody,
  LiveBody,
  MetricsBody,
  ReadyBody,
  RedisBody,
} from '../../src/integrations/express/index.js'
import { waitFor } from '../harness/index.js'
import { closeAllApps, type Framework, getJson, serve, traffic } from './serve.js'

/** How a suite gets its kit options: a memory kit, or one on a redis-server the file started. */
export interface RoutesTarget {
  mode: 'memory' | 'redis'
  options: () => RedkitOptions
}

export function describeRoutes(framework: Framework, target: RoutesTarget): void {
  describe(`${framework} routes on ${target.mode}`, () => {
    let kit: Redkit
    let url: string

    beforeAll(async () => {
      kit = createRedkit(target.options())
      url = (await serve(framework, kit)).url
    })
    afterAll(async () => {
      await closeAllApps()
      await kit.close()
    })

    it('GET /health/live is 200 with no caching, and makes no Redis call', async () => {
      const before = kit.metrics().breaker
      const live = await getJson<LiveBody>(url, '/health/live')
      expect(live.status).toBe(200)
      expect(live.headers.get('cache-control')).toBe('no-store')
      expect(live.headers.get('content-type')).toMatch(/application\/json/)
      expect(live.body.status).toBe('ok')
      expect(live.body.uptimeSeconds).toBeGreaterThanOrEqual(0)
      expect(kit.metrics().breaker).toEqual(before)
    })

    it('GET /health/ready is 200 with the Redis status and whether it is required', async () => {
      const ready = await getJson<ReadyBody>(url, '/health/ready')
      expect(ready.status).toBe(200)
      expect(ready.headers.get('cache-control')).toBe('no-store')
      expect(ready.body).toMatchObject({
        status: 'ready',
        mode: target.mode,
        redis: { status: 'healthy', required: target.mode === 'redis' },
        checks: {},
      })
      expect(ready.body.reason).toBeUndefined()
      expect(Date.parse(ready.body.checkedAt)).not.toBeNaN()
      if (target.mode === 'redis') expect(ready.body.redis?.latencyMs).toBeGreaterThanOrEqual(0)
    })

    it('GET /health/redis reports mode, breaker and each role', async () => {
      const redis = await getJson<RedisBody>(url, '/health/redis')
      expect(redis.status).toBe(200)
      expect(redis.body).toMatchObject({
        status: 'healthy',
        mode: target.mode,
        breaker: 'closed',
        breakerFailures: 0,
        closing: false,
      })
      if (target.mode === 'redis') {
        expect(redis.body.roles.command?.status).toBe('ready')
        expect(redis.body.roles.command?.latencyMs).toBeGreaterThanOrEqual(0)
        // The suite's traffic subscribed the bus (L1 sync), so the subscriber connection exists.
        expect(redis.body.roles.subscriber?.status).toMatch(/ready|connecting|idle/)
        expect(redis.body.server?.version).toMatch(/^\d+\.\d+/)
        expect(redis.body.server?.maxmemoryPolicy).toBeTypeOf('string')
      } else {
        expect(redis.body.roles).toEqual({})
      }
    })

    it('GET /health/cache follows hits and misses per namespace, with the L1 size and bytes', async () => {
      const app = traffic(url)
      const before = (await getJson<CacheBody>(url, '/health/cache')).body.namespaces.products
      const id = `c-${Date.now()}`
      expect((await app.product(id)).status).toBe(200) // miss, factory
      expect(await (await app.product(id)).json()).toEqual({ id, name: `product ${id}` }) // L1 hit
      const cache = await getJson<CacheBody>(url, '/health/cache')
      expect(cache.status).toBe(200)
      expect(cache.body.mode).toBe(target.mode)
      expect(cache.body.breaker).toBe('closed')
      expect(cache.body.fallback).toBe(false)
      const products = cache.body.namespaces.products!
      expect(products.misses - (before?.misses ?? 0)).toBe(1)
      expect(products.hits - (before?.hits ?? 0)).toBe(1)
      expect(products.l1Hits - (before?.l1Hits ?? 0)).toBe(1)
      expect(products.factoryCalls - (before?.factoryCalls ?? 0)).toBe(1)
      expect(products.hitRate).toBeCloseTo(products.hits / (products.hits + products.misses), 10)
      expect(products.l1Size).toBe((before?.l1Size ?? 0) + 1)
      expect(products.l1Bytes).toBeGreaterThan(before?.l1Bytes ?? 0)
      expect(products).toHaveProperty('staleHits', 0)
      expect(products).toHaveProperty('graceHits', 0)
    })

    it('GET /health/cache counts stale hits (swr) and grace hits (factory failing past expiry)', async () => {
      const reports = kit.cache<string>('reports', { ttl: 60, swr: '1m' })
      const feeds = kit.cache<string>('feeds', { ttl: 60, grace: '1m' })
      await reports.getOrSet('daily', () => 'v1')
      await feeds.getOrSet('news', () => 'n1')
      await waitFor(async () => (await reports.ttl('daily')) === 0, { message: 'report never went stale' })
      await waitFor(async () => (await feeds.has('news')) === false, { message: 'feed never expired' })
      expect(await reports.getOrSet('daily', () => 'v2')).toBe('v1')
      expect(
        await feeds.getOrSet('news', () => {
          throw new Error('feed source down')
        }),
      ).toBe('n1')
      const { namespaces } = (await getJson<CacheBody>(url, '/health/cache')).body
      expect(namespaces.reports?.staleHits).toBe(1)
      expect(namespaces.feeds?.graceHits).toBe(1)
    })

    it('GET /metrics/redkit counters move with cache, limiter and session traffic', async () => {
      const app = traffic(url)
      const first = await getJson<MetricsBody>(url, '/metrics/redkit')
      expect(first.status).toBe(200)
      expect(first.headers.get('cache-control')).toBe('no-store')
      expect(first.body).toMatchObject({ mode: target.mode, closing: false, breaker: { state: 'closed' } })
      const before = first.body
      const id = `m-${Date.now()}`
      await app.product(id)
      await app.product(id)
      await app.product(id)
      const statuses = [await app.limited(), await app.limited(), await app.limited()].map((r) => r.status)
      // Only this test consumes from the limiter (limit 2).
      expect(statuses).toEqual([200, 200, 429])
      expect((await app.session(`s-${id}`)).status).toBe(200)

      const after = (await getJson<MetricsBody>(url, '/metrics/redkit')).body
      const cacheBefore = before.cache.products
      const cacheAfter = after.cache.products!
      expect(cacheAfter.misses - (cacheBefore?.misses ?? 0)).toBe(1)
      expect(cacheAfter.hits - (cacheBefore?.hits ?? 0)).toBe(2)
      expect(cacheAfter.getLatencyMs.p50).toBeGreaterThanOrEqual(0)
      expect(cacheAfter.getLatencyMs.p99).toBeGreaterThanOrEqual(cacheAfter.getLatencyMs.p50)
      expect(cacheAfter.l1Size).toBeGreaterThanOrEqual(1)
      expect(after.ratelimit.api!.allowed - (before.ratelimit.api?.allowed ?? 0)).toBe(2)
      expect(after.ratelimit.api!.rejected - (before.ratelimit.api?.rejected ?? 0)).toBe(1)
      const sessionsBefore = before.sessions.sess ?? { saves: 0, reads: 0 }
      expect(after.sessions.sess!.saves! - sessionsBefore.saves!).toBe(1)
      expect(after.sessions.sess!.reads! - sessionsBefore.reads!).toBe(1)
      expect(Date.parse(after.collectedAt)).toBeGreaterThanOrEqual(Date.parse(first.body.collectedAt))
      expect(after.keyspace).toBeUndefined()
    })

    it('GET /cache-tiers serves the tier table with its own Cache-Control', async () => {
      const tiers = await getJson<{ tiers: unknown }>(url, '/cache-tiers')
      expect(tiers.status).toBe(200)
      expect(tiers.headers.get('cache-control')).toBe('public, max-age=300')
      expect(tiers.body).toEqual({ tiers: tierTable() })
    })

    it('extra checks count for readiness: a failing, a false and a slow check give 503, each reported', async () => {
      let healthy = true
      let abortedSlow = false
      const checked = await serve(framework, kit, {
        health: {
          base: '/checked',
          checkTimeout: '150ms',
          checks: {
            database: () => {
              if (!healthy)
                throw new Error('connect ECONNREFUSED postgres://app:db-password@127.0.0.1:5432/app')
              return 'ok'
            },
            search: async () => healthy,
            slow: {
              check: async (signal) => {
                await waitUnless(healthy ? 0 : 5000, signal)
                abortedSlow = signal.aborted
              },
              timeout: '200ms',
            },
          },
        },
      })
      const ok = await getJson<ReadyBody>(checked.url, '/checked/ready')
      expect(ok.status).toBe(200)
      expect(Object.keys(ok.body.checks ?? {}).sort()).toEqual(['database', 'search', 'slow'])
      for (const result of Object.values(ok.body.checks!)) expect(result.ok).toBe(true)

      healthy = false
      const failing = await getJson<ReadyBody>(checked.url, '/checked/ready')
      expect(failing.status).toBe(503)
      expect(failing.body.status).toBe('not_ready')
      expect(failing.body.reason).toBe("check 'database', 'search', 'slow' failed")
      const { database, search, slow } = failing.body.checks!
      expect(database).toMatchObject({ ok: false })
      expect(database!.error).toBe('connect ECONNREFUSED postgres://***@127.0.0.1:5432/app')
      expect(failing.text).not.toContain('db-password')
      expect(search).toMatchObject({ ok: false, error: 'returned false' })
      expect(slow).toMatchObject({ ok: false, error: 'timed out after 200 ms' })
      expect(slow!.durationMs).toBeGreaterThanOrEqual(190)
      // The slow check was abandoned at its timeout, not awaited, and told so through its signal.
      expect(failing.ms).toBeLessThan(1500)
      expect(abortedSlow).toBe(true)
      // The Redis part stays healthy and liveness is untouched.
      expect(failing.body.redis?.status).toBe('healthy')
      expect((await getJson(checked.url, '/checked/live')).status).toBe(200)
    })

    it('ready is 503 once the kit is closing, while live stays 200', async () => {
      const closing = createRedkit(target.options())
      const app = await serve(framework, closing)
      expect((await getJson(app.url, '/health/ready')).status).toBe(200)
      await closing.close()
      const ready = await getJson<ReadyBody>(app.url, '/health/ready')
      expect(ready.status).toBe(503)
      expect(ready.body).toMatchObject({
        status: 'not_ready',
        reason: 'redkit is closing',
        mode: target.mode,
      })
      expect((await getJson(app.url, '/health/live')).status).toBe(200)
      expect((await getJson<MetricsBody>(app.url, '/metrics/redkit')).body.closing).toBe(true)
      expect((await getJson<RedisBody>(app.url, '/health/redis')).body.closing).toBe(true)
    })
  })
}

/** Resolves after `ms`, or at once when `signal` aborts (as a well-behaved check does). */
function waitUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
