// The demo app as the end-to-end benchmark runs it: in its own process (the load generator must not
// share its CPU), on REDIS_URL, with caching switched on and off and counters read over IPC.

import { AsyncLocalStorage } from 'node:async_hooks'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createDemoApp } from '../../examples/demo/app.js'
import { openDatabase } from '../../examples/demo/database.js'
import { createRedkit } from '../../src/index.js'

/** Messages the benchmark sends. */
export type DemoServerRequest = { type: 'caching'; on: boolean } | { type: 'stats' } | { type: 'stop' }

/** What `stats` answers: database queries so far and the kit's counters. */
export interface DemoServerStats {
  queries: number
  /** Queries so far by the `x-bench-class` header of the request that made them (`other` without one). */
  queriesByClass: Record<string, number>
  metrics: Record<string, unknown>
}

const kit = createRedkit({ url: process.env.REDIS_URL, app: 'demo-bench', environment: {} })
const db = await openDatabase(process.env.DATABASE_URL)
let caching = true
// Which kind of request each query ran for: the load labels its requests, and a cache fill runs in the
// async context of the request that missed.
const requestClass = new AsyncLocalStorage<string>()
const queriesByClass: Record<string, number> = {}
const query = db.query.bind(db)
db.query = (sql, params) => {
  const label = requestClass.getStore() ?? 'other'
  queriesByClass[label] = (queriesByClass[label] ?? 0) + 1
  return query(sql, params)
}
// Unlimited API budget: one load generator is one client IP, and the limiter still runs on every request.
// Without the dashboard: mounted, it times every cache read, which is its cost, not the library's.
const demo = createDemoApp({
  kit,
  db,
  caching: () => caching,
  apiLimit: 1_000_000_000,
  // It logs in every company's admin from one address.
  loginLimit: 1_000_000,
  dashboard: false,
})
await demo.warm()
const app = express()
app.use((req, _res, next) => requestClass.run(req.get('x-bench-class') ?? 'other', next))
app.use(demo.app)
const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'listening', port: (server.address() as AddressInfo).port, database: db.describe })
})
server.keepAliveTimeout = 60_000

process.on('message', async (message: DemoServerRequest) => {
  if (message.type === 'caching') {
    caching = message.on
    process.send?.({ type: 'ok' })
  } else if (message.type === 'stats') {
    const stats: DemoServerStats = {
      queries: db.queries,
      queriesByClass: { ...queriesByClass },
      metrics: kit.metrics() as Record<string, unknown>,
    }
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
