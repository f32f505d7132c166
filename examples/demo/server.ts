// The demo app `npm start` runs. With REDIS_URL unset it runs on the embedded in-memory store, and with
// DATABASE_URL unset on an embedded PGlite database, so it works on a fresh machine with nothing installed.

import { createRedkit } from '../../src/index.js'
import { createDemoApp } from './app.js'
import { openDatabase } from './database.js'

const port = Number(process.env.PORT ?? 3000)
const kit = createRedkit({ url: process.env.REDIS_URL, app: 'demo' })
const started = performance.now()
const db = await openDatabase()
const demo = createDemoApp({ kit, db })
await demo.warm()

const server = demo.app.listen(port, () => {
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(
    `redkit demo on http://localhost:${port} · store: ${kit.mode === 'memory' ? 'embedded (set REDIS_URL for Redis)' : kit.mode} · database: ${db.describe} · ready in ${seconds} s · open http://localhost:${port}/ for the routes`,
  )
})

async function shutdown(): Promise<void> {
  server.close()
  await demo.close()
  await kit.close()
  await db.close()
  process.exit(0)
}
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
