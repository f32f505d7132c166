// The demo app `npm start` runs: an Express server on redkit. With REDIS_URL unset it runs on the
// embedded in-memory store, so it works on a fresh machine with no Redis installed.

import express from 'express'
import { createRedkit } from '../../src/index.js'

const port = Number(process.env.PORT ?? 3000)
const kit = createRedkit({ url: process.env.REDIS_URL, app: 'demo' })
const visitsKey = `${kit.prefix}visits`

const app = express()

app.get('/', async (_req, res, next) => {
  try {
    const visits = await kit.store.incrBy(visitsKey, 1)
    res.json({ app: 'redkit demo', mode: kit.mode, visits })
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
