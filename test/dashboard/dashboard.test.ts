// The dashboard over real HTTP (Express 5): page and files with their CSP, the JSON shape, per-interval
// deltas rather than lifetime totals, authorize and the production default, shutdown, and no credential.

import { tracingChannel } from 'node:diagnostics_channel'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, InvalidOptionsError, type Redkit, tracingChannels } from '../../src/index.js'
import { type DashboardSnapshot, dashboardRoutes } from '../../src/integrations/express/index.js'
import { DashboardSampler } from '../../src/metrics/dashboard-sampler.js'
import { leaks, type RedisServer, renderings, startRedis, stopAllServers, waitFor } from '../harness/index.js'
import { closeAllDashboards, serveDashboard } from './dashboard-app.js'

const PASSWORD = 'Pa55-dashboard-secret-41c9e7'
const FAST = { interval: '100ms', history: '1m' } as const

let server: RedisServer
const kits: Redkit[] = []

beforeAll(async () => {
  server = await startRedis({ password: PASSWORD })
})
afterEach(async () => {
  await closeAllDashboards()
  for (const kit of kits.splice(0)) await kit.close()
})
afterAll(async () => {
  await stopAllServers()
})

function memoryKit(): Redkit {
  const kit = createRedkit({ url: 'memory', app: 'dash', environment: {} })
  kits.push(kit)
  return kit
}

function redisKit(): Redkit {
  const kit = createRedkit({
    url: `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}`,
    app: 'dash',
    env: `t${kits.length}`,
    environment: {},
    commandTimeout: 1000,
  })
  kits.push(kit)
  return kit
}

async function data(base: string): Promise<DashboardSnapshot> {
  const response = await fetch(`${base}data.json`)
  expect(response.status).toBe(200)
  return (await response.json()) as DashboardSnapshot
}

const total = (values: readonly number[]) => values.reduce((a, b) => a + b, 0)

describe.each(['memory', 'redis'] as const)('dashboard on %s', (mode) => {
  const kitFor = () => (mode === 'memory' ? memoryKit() : redisKit())

  it('serves the page under a trailing slash with a CSP that allows only its own scripts', async () => {
    const app = await serveDashboard(kitFor(), FAST)
    const bare = await fetch(`${app.url}/dashboard?x=1`, { redirect: 'manual' })
    expect(bare.status).toBe(308)
    expect(bare.headers.get('location')).toBe('./dashboard/?x=1')

    const page = await fetch(app.dashboard)
    const html = await page.text()
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const csp = page.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(page.headers.get('cache-control')).toBe('no-store')
    // Every script is a file of the dashboard: none inline (the CSP would block it), none from elsewhere.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)]
    expect(scripts.map((s) => /src="([^"]+)"/.exec(s[1]!)?.[1])).toEqual([
      'uplot.iife.min.js',
      'dashboard.js',
    ])
    expect(scripts.every((s) => s[2]!.trim() === '')).toBe(true)
    expect(html).not.toMatch(/style="/)

    for (const [file, type, marker] of [
      ['uplot.iife.min.js', 'text/javascript', 'uPlot'],
      ['uplot.min.css', 'text/css', '.uplot'],
      ['dashboard.js', 'text/javascript', 'data.json'],
      ['dashboard.css', 'text/css', '.card'],
    ] as const) {
      const response = await fetch(app.dashboard + file)
      expect(response.status, file).toBe(200)
      expect(response.headers.get('content-type'), file).toContain(type)
      expect(response.headers.get('x-content-type-options'), file).toBe('nosniff')
      expect(await response.text(), file).toContain(marker)
    }
    expect((await fetch(`${app.dashboard}package.json`)).status).toBe(404)
    expect((await fetch(`${app.dashboard}..%2Fpackage.json`)).status).toBe(404)
  })

  it('reports counter changes per interval, not lifetime totals', async () => {
    const kit = kitFor()
    const products = kit.cache('products', { ttl: '1m', l1: { max: 100 } })
    // Reads before the dashboard exists are not charted.
    await products.getOrSet('before', () => 1)
    await products.getOrSet('before', () => 1)
    const app = await serveDashboard(kit, FAST)

    await fetch(`${app.url}/products/1`) // miss
    for (let i = 0; i < 4; i++) await fetch(`${app.url}/products/1`) // hits
    await fetch(`${app.url}/products/2`) // miss
    for (let i = 0; i < 5; i++) await fetch(`${app.url}/limited`) // 2 allowed, 3 rejected

    // waitFor resolves only with a truthy value.
    const snapshot = (await waitFor(
      async () => {
        const body = await data(app.dashboard)
        const cache = body.caches.products
        return cache &&
          total(cache.hits) + total(cache.misses) === 6 &&
          total(body.limiters.api?.allowed ?? []) === 2
          ? body
          : undefined
      },
      { message: 'the reads reached a sample' },
    )) as DashboardSnapshot
    const cache = snapshot.caches.products!
    expect(total(cache.hits)).toBe(4)
    expect(total(cache.misses)).toBe(2)
    // The lifetime counters include the two earlier reads.
    expect(cache.totals.hits + cache.totals.misses).toBe(8)
    expect(cache.hits).toHaveLength(snapshot.times.length)
    cache.hitRate.forEach((value, i) => {
      const reads = cache.hits[i]! + cache.misses[i]!
      expect(value).toBe(reads === 0 ? null : cache.hits[i]! / reads)
    })
    // Every read was timed (traced), and only intervals with reads have a latency.
    const timed = cache.p50.filter((value) => value !== null)
    expect(timed.length).toBeGreaterThan(0)
    cache.p99.forEach((p99, i) => {
      if (p99 !== null) expect(p99).toBeGreaterThanOrEqual(cache.p50[i]!)
    })
    expect(snapshot.latencySource).toBe('traced')

    const api = snapshot.limiters.api!
    expect(total(api.allowed)).toBe(2)
    expect(total(api.rejected)).toBe(3)
    expect(api.totals.rejected).toBe(3)

    expect(snapshot).toMatchObject({
      mode: kit.mode,
      prefix: kit.prefix,
      closing: false,
      intervalMs: 100,
      historyMs: 60_000,
      breaker: { state: 'closed' },
      health: { status: 'healthy', mode: kit.mode },
    })
    if (mode === 'redis') expect(snapshot.health.roles.command?.status).toBe('ready')
    // Times are increasing, one per sample.
    expect([...snapshot.times].sort((a, b) => a - b)).toEqual(snapshot.times)

    // Keys and memory per namespace from the keyspace sample.
    const keyspace = snapshot.keyspace?.namespaces.products
    expect(keyspace?.keys).toBeGreaterThanOrEqual(3)
    expect(keyspace?.memoryBytes).toBeGreaterThan(0)
  })

  it('lists recent deletes and tag invalidations, newest first', async () => {
    const app = await serveDashboard(kitFor(), FAST)
    await fetch(`${app.url}/products/7`)
    await fetch(`${app.url}/products/7`, { method: 'DELETE' })
    await fetch(`${app.url}/products/8`, { method: 'DELETE' })
    await fetch(`${app.url}/tags/catalog`, { method: 'POST' })
    const { invalidations } = await data(app.dashboard)
    expect(invalidations.map(({ at: _at, ...rest }) => rest)).toEqual([
      { kind: 'tags', tags: ['catalog'], failed: false },
      { kind: 'delete', namespace: 'products', key: 'product:8', existed: false, failed: false },
      { kind: 'delete', namespace: 'products', key: 'product:7', existed: true, failed: false },
    ])
  })
})

describe('authorize', () => {
  it('answers 403 to the page, its files and the data unless authorize says true', async () => {
    let allowed = false
    const app = await serveDashboard(memoryKit(), {
      ...FAST,
      authorize: async (req) => allowed && req.get('x-admin') === 'yes',
    })
    for (const file of ['', 'data.json', 'dashboard.js', 'uplot.iife.min.js']) {
      expect((await fetch(app.dashboard + file)).status, file).toBe(403)
    }
    allowed = true
    expect((await fetch(`${app.dashboard}data.json`)).status).toBe(403)
    const admin = { headers: { 'x-admin': 'yes' } }
    expect((await fetch(`${app.dashboard}data.json`, admin)).status).toBe(200)
    expect((await fetch(app.dashboard, admin)).status).toBe(200)
  })

  it('passes a failing authorize to the error handler and shows nothing', async () => {
    const app = await serveDashboard(memoryKit(), {
      authorize: () => {
        throw new Error('auth service down')
      },
    })
    const response = await fetch(`${app.dashboard}data.json`)
    expect(response.status).toBe(500)
    expect(await response.text()).not.toContain('"caches"')
    expect(app.errors.map((error) => (error as Error).message)).toEqual(['auth service down'])
  })

  it('refuses everything in production without authorize, and starts nothing', async () => {
    const before = process.env.NODE_ENV
    process.env.NODE_ENV = 'production'
    try {
      const warnings: string[] = []
      const kit = createRedkit({
        url: 'memory',
        environment: {},
        logger: { debug() {}, info() {}, error() {}, warn: (_fields, message) => warnings.push(message) },
      })
      kits.push(kit)
      const app = await serveDashboard(kit, FAST)
      const page = await fetch(app.dashboard)
      expect(page.status).toBe(403)
      expect(await page.text()).toContain('authorize')
      expect((await fetch(`${app.dashboard}data.json`)).status).toBe(403)
      expect(warnings.join('\n')).toContain('dashboardRoutes refuses every request')
      // No read is traced: nothing subscribed.
      expect(tracingChannel(tracingChannels.cacheGet).hasSubscribers).toBe(false)

      const allowed = await serveDashboard(kit, { ...FAST, authorize: () => true })
      expect((await fetch(`${allowed.dashboard}data.json`)).status).toBe(200)
    } finally {
      process.env.NODE_ENV = before
    }
  })
})

describe('lifecycle and options', () => {
  it('samples on an unref-ed timer from creation and stops on kit.close()', async () => {
    const kit = memoryKit()
    const sampler = new DashboardSampler(kit, FAST)
    expect(sampler.running).toBe(false)
    expect(tracingChannel(tracingChannels.cacheGet).hasSubscribers).toBe(false)
    sampler.start()
    expect(sampler.running).toBe(true)
    expect(tracingChannel(tracingChannels.cacheGet).hasSubscribers).toBe(true)
    expect(tracingChannel(tracingChannels.cacheInvalidate).hasSubscribers).toBe(true)
    await waitFor(async () => (await sampler.snapshot()).times.length >= 2, { message: 'two samples' })
    await kit.close()
    expect(sampler.running).toBe(false)
    expect(tracingChannel(tracingChannels.cacheGet).hasSubscribers).toBe(false)
    expect(tracingChannel(tracingChannels.cacheInvalidate).hasSubscribers).toBe(false)
    const after = (await sampler.snapshot()).times.length
    // Several intervals later, still no new sample.
    await new Promise((resolve) => setTimeout(resolve, 350))
    expect((await sampler.snapshot()).times.length).toBe(after)
  })

  it('keeps history / interval samples', async () => {
    const kit = memoryKit()
    const sampler = new DashboardSampler(kit, { interval: '1s', history: '3s' })
    for (let i = 0; i < 10; i++) sampler.tick()
    expect((await sampler.snapshot()).times).toHaveLength(3)
  })

  it('with traceReads: false charts the caches own percentiles and leaves reads untraced', async () => {
    const kit = memoryKit()
    const sampler = new DashboardSampler(kit, { ...FAST, traceReads: false })
    sampler.start()
    expect(tracingChannel(tracingChannels.cacheGet).hasSubscribers).toBe(false)
    const cache = kit.cache('plain', { ttl: '1m' })
    for (let i = 0; i < 32; i++) await cache.get(`k${i}`)
    sampler.tick()
    const snapshot = await sampler.snapshot()
    expect(snapshot.latencySource).toBe('store')
    expect(snapshot.caches.plain?.p50.at(-1)).toBe(snapshot.caches.plain?.totals.getLatencyMs.p50)
    sampler.stop()
  })

  it('rejects bad options at construction', () => {
    const kit = memoryKit()
    expect(() => dashboardRoutes(kit, { interval: '10ms' })).toThrow(/interval must be at least 100 ms/)
    expect(() => dashboardRoutes(kit, { interval: '5s', history: '1s' })).toThrow(/history must be at least/)
    expect(() => dashboardRoutes(kit, { intervall: '2s' } as never)).toThrow(/interval/)
    expect(() => dashboardRoutes(kit, { authorize: true } as never)).toThrow(InvalidOptionsError)
    expect(() => dashboardRoutes(kit, { keyspace: 'yes' } as never)).toThrow(/keyspace must be/)
    expect(() => dashboardRoutes(kit, { keyspace: { ttll: '1s' } } as never)).toThrow(InvalidOptionsError)
    expect(() => dashboardRoutes(kit, { invalidations: -1 })).toThrow(/invalidations must be/)
  })
})

describe('no credential in anything served', () => {
  it('page, files and data on a password-protected redis-server', async () => {
    const kit = redisKit()
    const app = await serveDashboard(kit, FAST)
    await fetch(`${app.url}/products/1`)
    await fetch(`${app.url}/products/1`, { method: 'DELETE' })
    await fetch(`${app.url}/limited`)
    await waitFor(async () => (await data(app.dashboard)).times.length > 0, { message: 'a sample' })
    const texts: string[] = []
    for (const file of ['', 'data.json', 'dashboard.js', 'dashboard.css', 'uplot.min.css']) {
      const response = await fetch(app.dashboard + file)
      texts.push(JSON.stringify([...response.headers]), await response.text())
    }
    const body = await data(app.dashboard)
    texts.push(...renderings(body))
    expect(body.health.roles.command?.status).toBe('ready')
    expect(texts.join('\n')).toContain('"products"')
    expect(leaks(texts, PASSWORD)).toEqual([])
    expect(leaks(texts, encodeURIComponent(PASSWORD))).toEqual([])
    expect(leaks([...texts, server.url], PASSWORD)).toEqual([server.url])
  })

  it('while the password is wrong, the failure is shown without it', async () => {
    const wrong = 'wrong-dashboard-secret-93ad01'
    const kit = createRedkit({
      url: `redis://:${wrong}@127.0.0.1:${server.port}`,
      app: 'dash',
      environment: {},
      commandTimeout: 300,
      breaker: { threshold: 1, cooldown: 200 },
    })
    kits.push(kit)
    const app = await serveDashboard(kit, FAST)
    await fetch(`${app.url}/products/1`)
    const text = await (await fetch(`${app.dashboard}data.json`)).text()
    const body = JSON.parse(text) as DashboardSnapshot
    expect(body.health.status).toBe('down')
    expect(leaks([text, ...renderings(body)], wrong)).toEqual([])
    expect(leaks([text, ...renderings(body)], PASSWORD)).toEqual([])
  })
})
