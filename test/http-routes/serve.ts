// Serves redkit's health, metrics and tier routes from a real Express 5 or Fastify 5 app on a loopback
// port, next to app routes that make cache, limiter and session traffic, so suites drive both over HTTP.

import type { AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import type { Redkit } from '../../src/index.js'
import {
  cacheTiersRoute,
  type HealthRoutesOptions,
  healthRoutes,
  type MetricsRoutesOptions,
  metricsRoutes,
} from '../../src/integrations/express/index.js'
import { redkit } from '../../src/integrations/fastify/index.js'

export type Framework = 'express' | 'fastify'

export interface ServeOptions {
  health?: HealthRoutesOptions
  metrics?: MetricsRoutesOptions
}

export interface Served {
  url: string
  close(): Promise<void>
}

/** The app routes that make traffic: a cached product, a limited endpoint, a session write and read. */
export interface Traffic {
  product(id: string): Promise<Response>
  limited(): Promise<Response>
  session(id: string): Promise<Response>
}

const open = new Set<Served>()

/** Closes every app {@link serve} started; for `afterAll`. */
export async function closeAllApps(): Promise<void> {
  const apps = [...open]
  open.clear()
  await Promise.all(apps.map((app) => app.close()))
}

/**
 * Starts `framework` with the health routes, the metrics route and the tier table route (Express: the
 * three functions; Fastify: the `redkit` plugin), plus the traffic routes of {@link traffic}.
 */
export async function serve(framework: Framework, kit: Redkit, options: ServeOptions = {}): Promise<Served> {
  const products = kit.cache<{ id: string; name: string }>('products', { ttl: '1m', l1: { max: 100 } })
  const limiter = kit.limiter('api', { algorithm: 'fixed-window', limit: 2, window: '1m' })
  const sessions = kit.sessions({ secret: 'session-secret-for-the-route-tests-0123456789' })
  const product = async (id: string) =>
    products.getOrSet(['product', id], () => ({ id, name: `product ${id}` }))
  const limited = async () => limiter.consume('client')
  const session = async (id: string) => {
    await sessions.set(id, { cookie: { originalMaxAge: 60_000 }, seen: true })
    return sessions.get(id)
  }
  const served = framework === 'express' ? await serveExpress() : await serveFastify()
  open.add(served)
  return served

  async function serveExpress(): Promise<Served> {
    const app = express()
    app.use(healthRoutes(kit, options.health))
    app.use(metricsRoutes(kit, options.metrics))
    app.get('/cache-tiers', cacheTiersRoute())
    app.get('/products/:id', async (req, res) => {
      res.json(await product(req.params.id))
    })
    app.get('/limited', async (_req, res) => {
      const result = await limited()
      res.status(result.allowed ? 200 : 429).json(result)
    })
    app.get('/session/:id', async (req, res) => {
      res.json(await session(req.params.id))
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise<void>((resolve) => server.once('listening', () => resolve()))
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        }),
    }
  }

  async function serveFastify(): Promise<Served> {
    const app = Fastify()
    await app.register(redkit, {
      kit,
      health: options.health ?? true,
      metrics: options.metrics ?? true,
      tiers: true,
    })
    app.get<{ Params: { id: string } }>('/products/:id', async (request) => product(request.params.id))
    app.get('/limited', async (_request, reply) => {
      const result = await limited()
      return reply.code(result.allowed ? 200 : 429).send(result)
    })
    app.get<{ Params: { id: string } }>('/session/:id', async (request) => session(request.params.id))
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    return { url, close: () => app.close() }
  }
}

/** The traffic routes of an app started by {@link serve}. */
export function traffic(url: string): Traffic {
  return {
    product: (id) => fetch(`${url}/products/${id}`),
    limited: () => fetch(`${url}/limited`),
    session: (id) => fetch(`${url}/session/${id}`),
  }
}

/** GET `path` and parse the JSON body, keeping status, headers, raw text and the time it took. */
export async function getJson<B = Record<string, unknown>>(
  url: string,
  path: string,
): Promise<{ status: number; headers: Headers; body: B; text: string; ms: number }> {
  const started = performance.now()
  const response = await fetch(url + path)
  const text = await response.text()
  const ms = performance.now() - started
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as B, text, ms }
}
