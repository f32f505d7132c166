// The redkit Fastify plugin over real HTTP: the typed decorator seen app-wide, routes only when asked and
// where asked, the kit closed with the app only when it is owned, rateLimitPlugin leaving probes alone.

import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit, InvalidOptionsError, type Redkit, tierTable } from '../../src/index.js'
import {
  cacheTiersRoute,
  healthRoutes,
  metricsRoutes,
  rateLimitPlugin,
  redkit,
} from '../../src/integrations/fastify/index.js'

const apps: FastifyInstance[] = []
const kits: Redkit[] = []

afterAll(async () => {
  for (const app of apps.splice(0)) await app.close()
  for (const kit of kits.splice(0)) await kit.close()
})

function newKit(): Redkit {
  const kit = createRedkit({ url: 'memory', app: 'plugin', environment: {} })
  kits.push(kit)
  return kit
}

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app)
  return app.listen({ port: 0, host: '127.0.0.1' })
}

describe('redkit Fastify plugin', () => {
  it('decorates the app with the kit, visible to plugins registered after it', async () => {
    const kit = newKit()
    const app = Fastify()
    await app.register(redkit, { kit })
    let seen: Redkit | undefined
    await app.register(async (child) => {
      seen = child.redkit
      child.get('/mode', async () => ({ mode: child.redkit.mode }))
    })
    const url = await listen(app)
    expect(app.redkit).toBe(kit)
    expect(app.hasDecorator('redkit')).toBe(true)
    expect(seen).toBe(kit)
    expect(await (await fetch(`${url}/mode`)).json()).toEqual({ mode: 'memory' })
  })

  it('registers no route unless asked', async () => {
    const app = Fastify()
    await app.register(redkit, { kit: newKit(), health: false, metrics: false })
    const url = await listen(app)
    for (const path of ['/health/live', '/health/ready', '/metrics/redkit', '/cache-tiers']) {
      expect((await fetch(url + path)).status).toBe(404)
    }
  })

  it('registers the routes it is asked for, where it is asked', async () => {
    const app = Fastify()
    await app.register(redkit, {
      kit: newKit(),
      health: { base: '/hc' },
      metrics: { path: '/stats' },
      tiers: { path: '/tiers', cacheControl: 'no-cache' },
    })
    const url = await listen(app)
    expect((await fetch(`${url}/hc/live`)).status).toBe(200)
    expect((await fetch(`${url}/hc/ready`)).status).toBe(200)
    expect((await fetch(`${url}/health/live`)).status).toBe(404)
    const stats = await fetch(`${url}/stats`)
    expect(stats.status).toBe(200)
    expect(await stats.json()).toMatchObject({ mode: 'memory', cache: {}, ratelimit: {}, sessions: {} })
    const tiers = await fetch(`${url}/tiers`)
    expect(tiers.headers.get('cache-control')).toBe('no-cache')
    expect(await tiers.json()).toEqual({ tiers: tierTable() })
  })

  it('leaves the kit open when the app closes, unless closeOnShutdown', async () => {
    const shared = newKit()
    const borrowing = Fastify()
    await borrowing.register(redkit, { kit: shared })
    await borrowing.ready()
    await borrowing.close()
    expect(shared.closing).toBe(false)
    expect(await shared.cache('still-open').getOrSet('k', () => 'v')).toBe('v')

    const owned = newKit()
    const owning = Fastify()
    await owning.register(redkit, { kit: owned, closeOnShutdown: true })
    await owning.ready()
    await owning.close()
    expect(owned.closing).toBe(true)
  })

  it('rejects bad options when registered, with what to do', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ kit: newKit(), helth: true }, /unknown option 'helth' \(did you mean 'health'\?\)/],
      [{ kit: {} }, /kit must be a redkit instance/],
      [{}, /kit must be a redkit instance/],
      [{ kit: newKit(), health: 'yes' }, /health must be true, false or an options object/],
      [{ kit: newKit(), health: { base: 'health' } }, /base must be a path starting with '\/'/],
      [{ kit: newKit(), metrics: { sample: { ttl: '1x' } } }, /sample.ttl '1x' is not a duration/],
      [{ kit: newKit(), closeOnShutdown: 'true' }, /closeOnShutdown must be true or false/],
    ]
    for (const [options, message] of cases) {
      const app = Fastify()
      // @ts-expect-error deliberately wrong options
      const registering = app.register(redkit, options)
      const error = await registering.ready().then(
        () => undefined,
        (failure: unknown) => failure,
      )
      expect(error, JSON.stringify(Object.keys(options))).toBeInstanceOf(InvalidOptionsError)
      expect((error as Error).message).toMatch(message)
      await app.close()
    }
  })

  it('probe routes skip the app-wide rateLimitPlugin; other routes are limited', async () => {
    const kit = newKit()
    const app = Fastify()
    await app.register(rateLimitPlugin, { limiter: kit.limiter('everything', { limit: 1, window: '1m' }) })
    await app.register(redkit, { kit, health: true, metrics: true, tiers: true })
    app.get('/work', async () => 'done')
    const url = await listen(app)
    for (let i = 0; i < 3; i++) {
      for (const path of ['/health/live', '/health/ready', '/metrics/redkit', '/cache-tiers']) {
        expect((await fetch(url + path)).status, path).toBe(200)
      }
    }
    expect((await fetch(`${url}/work`)).status).toBe(200)
    expect((await fetch(`${url}/work`)).status).toBe(429)
  })

  it('healthRoutes, metricsRoutes and cacheTiersRoute also work alone, under a register prefix', async () => {
    const kit = newKit()
    const app = Fastify()
    await app.register(healthRoutes(kit), { prefix: '/internal' })
    await app.register(metricsRoutes(kit, { path: '/metrics' }), { prefix: '/internal' })
    app.get('/api/cache-tiers', cacheTiersRoute())
    const url = await listen(app)
    expect((await fetch(`${url}/internal/health/live`)).status).toBe(200)
    expect((await fetch(`${url}/internal/health/cache`)).status).toBe(200)
    expect((await fetch(`${url}/internal/metrics`)).status).toBe(200)
    const tiers = await fetch(`${url}/api/cache-tiers`)
    expect(tiers.headers.get('cache-control')).toBe('public, max-age=300')
    expect(await tiers.json()).toEqual({ tiers: tierTable() })
    expect(() => healthRoutes(kit, { checks: { db: 'select 1' as never } })).toThrow(InvalidOptionsError)
  })
})
