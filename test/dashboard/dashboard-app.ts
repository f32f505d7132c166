// A real Express 5 app on a loopback port with the dashboard mounted at /dashboard, next to routes that make
// cache, limiter and invalidation traffic, so the dashboard suites drive both over HTTP.

import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import type { Redkit } from '../../src/index.js'
import { type DashboardRoutesOptions, dashboardRoutes } from '../../src/integrations/express/index.js'

export interface DashboardApp {
  url: string
  /** The dashboard's base URL, with its trailing slash. */
  dashboard: string
  /** Errors that reached the app's error handler. */
  errors: unknown[]
  close(): Promise<void>
}

const open = new Set<DashboardApp>()

/** Closes every app {@link serveDashboard} started; for `afterAll`. */
export async function closeAllDashboards(): Promise<void> {
  const apps = [...open]
  open.clear()
  await Promise.all(apps.map((app) => app.close()))
}

/**
 * Starts an app with `dashboardRoutes(kit, options)` at `/dashboard` and the traffic routes:
 * `GET /products/:id` (getOrSet on `products`), `GET /limited` (limiter `api`, 2 a minute),
 * `DELETE /products/:id` and `POST /tags/:tag`.
 */
export async function serveDashboard(kit: Redkit, options?: DashboardRoutesOptions): Promise<DashboardApp> {
  const products = kit.cache<{ id: string }>('products', { ttl: '1m', l1: { max: 100 } })
  const limiter = kit.limiter('api', { algorithm: 'fixed-window', limit: 2, window: '1m' })
  const errors: unknown[] = []
  const app = express()
  app.use('/dashboard', dashboardRoutes(kit, options))
  app.get('/products/:id', async (req, res) => {
    res.json(
      await products.getOrSet(['product', req.params.id], () => ({ id: req.params.id }), {
        tags: ['catalog'],
      }),
    )
  })
  app.delete('/products/:id', async (req, res) => {
    res.json({ existed: await products.delete(['product', req.params.id]) })
  })
  app.post('/tags/:tag', async (req, res) => {
    await kit.invalidateTags([req.params.tag])
    res.json({ ok: true })
  })
  app.get('/limited', async (_req, res) => {
    const result = await limiter.consume('client')
    res.status(result.allowed ? 200 : 429).json({ allowed: result.allowed })
  })
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    errors.push(error)
    res.status(500).json({ error: 'internal error' })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const served: DashboardApp = {
    url,
    dashboard: `${url}/dashboard/`,
    errors,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  open.add(served)
  return served
}
