// The demo app `npm start` runs: an Express server on redkit. With REDIS_URL unset it runs on the
// embedded in-memory store, so it works on a fresh machine with no Redis installed.

import express from 'express'
import { createRedkit, rateLimitTiers } from '../../src/index.js'
import { rateLimit } from '../../src/integrations/express/index.js'

const port = Number(process.env.PORT ?? 3000)
const kit = createRedkit({ url: process.env.REDIS_URL, app: 'demo' })
const visitsKey = kit.keys.build('visits')

interface Product {
  id: string
  name: string
  loadedAt: string
}

// A slow "database": the cache makes the second request for a product instant.
async function loadProduct(id: string): Promise<Product> {
  await new Promise((resolve) => setTimeout(resolve, 200))
  return { id, name: `Product ${id}`, loadedAt: new Date().toISOString() }
}

const products = kit.cache<Product>('products', { ttl: '1m', swr: '5m', l1: { max: 1000, ttl: '10s' } })
const api = kit.limiter('api', rateLimitTiers.api)

const app = express()

app.get('/', async (_req, res, next) => {
  try {
    const visits = await kit.store.incrBy(visitsKey, 1)
    res.json({
      app: 'redkit demo',
      mode: kit.mode,
      visits,
      try: [
        '/products/42',
        '/products/42 (again: cached)',
        'POST /products/42/invalidate',
        '/health',
        '/metrics',
      ],
    })
  } catch (error) {
    next(error)
  }
})

app.use('/products', rateLimit(api))

app.get('/products/:id', async (req, res, next) => {
  try {
    const started = performance.now()
    const id = req.params.id
    const product = await products.getOrSet(['product', id], () => loadProduct(id), {
      tags: [`product:${id}`],
    })
    res.json({ product, ms: Math.round(performance.now() - started) })
  } catch (error) {
    next(error)
  }
})

app.post('/products/:id/invalidate', async (req, res, next) => {
  try {
    await kit.invalidateTags([`product:${req.params.id}`])
    res.json({ invalidated: `product:${req.params.id}` })
  } catch (error) {
    next(error)
  }
})

app.get('/health', async (_req, res) => {
  const report = await kit.health()
  res.status(report.status === 'down' ? 503 : 200).json(report)
})

app.get('/metrics', (_req, res) => {
  res.json(kit.metrics())
})

const server = app.listen(port, () => {
  console.log(`redkit demo listening on http://localhost:${port} (store: ${kit.mode})`)
})

async function shutdown(): Promise<void> {
  server.close()
  await kit.close()
  process.exit(0)
}
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
