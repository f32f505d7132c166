// The Express routers mounted the ways apps mount them, over real HTTP: under a prefix and behind an
// auth middleware, at a custom base and path, and option errors thrown when the router is built.

import express, { type Express } from 'express'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit, InvalidOptionsError, tierTable } from '../../src/index.js'
import { cacheTiersRoute, healthRoutes, metricsRoutes } from '../../src/integrations/express/index.js'
import { listenOn } from '../harness/index.js'

const kit = createRedkit({ url: 'memory', app: 'mounting', environment: {} })
const closers: (() => Promise<void>)[] = []

afterAll(async () => {
  for (const close of closers.splice(0)) await close()
  await kit.close()
})

async function listen(app: Express): Promise<string> {
  return listenOn(app, closers)
}

describe('Express health and metrics routers', () => {
  it('mount under a prefix and behind an auth middleware, at a custom base and path', async () => {
    const app = express()
    app.use(healthRoutes(kit, { base: '/healthz' }))
    const requireAdmin: express.RequestHandler = (req, res, next) => {
      if (req.get('authorization') === 'Bearer admin') next()
      else res.status(401).end()
    }
    app.use('/internal', requireAdmin, metricsRoutes(kit, { path: '/stats' }), healthRoutes(kit))
    app.get('/api/cache-tiers', cacheTiersRoute({ cacheControl: 'no-cache' }))
    const url = await listen(app)

    expect((await fetch(`${url}/healthz/live`)).status).toBe(200)
    expect((await fetch(`${url}/healthz/ready`)).status).toBe(200)
    expect((await fetch(`${url}/health/live`)).status).toBe(404)
    expect((await fetch(`${url}/internal/stats`)).status).toBe(401)
    const admin = { headers: { authorization: 'Bearer admin' } }
    const stats = await fetch(`${url}/internal/stats`, admin)
    expect(stats.status).toBe(200)
    expect(await stats.json()).toMatchObject({ mode: 'memory', closing: false })
    expect((await fetch(`${url}/internal/health/cache`, admin)).status).toBe(200)
    const tiers = await fetch(`${url}/api/cache-tiers`)
    expect(tiers.headers.get('cache-control')).toBe('no-cache')
    expect(await tiers.json()).toEqual({ tiers: tierTable() })
  })

  it('answers HEAD like GET, without a body (load balancers probe with either)', async () => {
    const app = express()
    app.use(healthRoutes(kit))
    const url = await listen(app)
    const head = await fetch(`${url}/health/ready`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
  })

  it('throws InvalidOptionsError for bad options when the router is built', () => {
    expect(() => healthRoutes(kit, { bsae: '/x' } as never)).toThrow(
      /unknown option 'bsae' \(did you mean 'base'\?\)/,
    )
    expect(() => healthRoutes(kit, { base: 'health' })).toThrow(InvalidOptionsError)
    expect(() => healthRoutes(kit, { requireRedis: 'yes' as never })).toThrow(
      /requireRedis must be true or false/,
    )
    expect(() => healthRoutes(kit, { timeout: 0 })).toThrow(/timeout must be longer than 0 ms/)
    expect(() => healthRoutes(kit, { checks: { db: { check: () => true, timout: '1s' } as never } })).toThrow(
      /unknown option 'checks.db.timout' \(did you mean 'checks.db.timeout'\?\)/,
    )
    expect(() => metricsRoutes(kit, { sample: { budget: 0 } })).toThrow(
      /sample.budget must be longer than 0 ms/,
    )
    expect(() => metricsRoutes(kit, { sample: { maxKeys: 0 } })).toThrow(
      /sample.maxKeys must be a whole number/,
    )
    expect(() => metricsRoutes(kit, { sample: 'on' as never })).toThrow(
      /sample must be true, false or an object/,
    )
    expect(() => cacheTiersRoute({ cacheControl: 'a\r\nb' })).toThrow(/cacheControl must be a header value/)
  })
})
