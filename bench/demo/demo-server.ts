// The demo app as the end-to-end benchmark runs it: in its own process (the load generator must not
// share its CPU), on REDIS_URL, with caching switched on and off and counters read over IPC.

import type { AddressInfo } from 'node:net'
import { createDemoApp } from '../../examples/demo/app.js'
import { openDatabase } from '../../examples/demo/database.js'
import { createRedkit } from '../../src/index.js'

/** Messages the benchmark sends. */
export type DemoServerRequest = { type: 'caching'; on: boolean } | { type: 'stats' } | { type: 'stop' }

/** What `stats` answers: database queries so far and the kit's counters. */
export interface DemoServerStats {
  queries: number
  metrics: Record<string, unknown>
}

const kit = createRedkit({ url: process.env.REDIS_URL, app: 'demo-bench', environment: {} })
const db = await openDatabase(process.env.DATABASE_URL)
let caching = true
// Unlimited API budget: one load generator is one client IP, and the limiter still runs on every request.
// Without the dashboard: mounted, it times every cache read, which is its cost, not the library's.
const demo = createDemoApp({ kit, db, caching: () => caching, apiLimit: 1_000_000_000, dashboard: false })
await demo.warm()
const server = demo.app.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'listening', port: (server.address() as AddressInfo).port, database: db.describe })
})
server.keepAliveTimeout = 60_000

process.on('message', async (message: DemoServerRequest) => {
  if (message.type === 'caching') {
    caching = message.on
    process.send?.({ type: 'ok' })
  } else if (message.type === 'stats') {
    const stats: DemoServerStats = { queries: db.queries, metrics: kit.metrics() as Record<string, unknown> }
    process.send?.({ type: 'stats', stats })
  } else if (message.type === 'stop') {
    server.closeAllConnections()
    server.close()
    await demo.close()
    await kit.close()
    await db.close()
    process.exit(0)
  }
})
