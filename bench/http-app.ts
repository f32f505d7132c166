// The server process of the `http` benchmark suite: one Express 5 app whose routes run the same handler
// (a ~2 KB JSON page built on every call) uncached, behind redkit's cacheResponse and behind apicache 1.6,
// plus the same body sent from a constant. Prints `{"port":n}` once listening; exits on SIGTERM.

import type { AddressInfo } from 'node:net'
import express, { type RequestHandler } from 'express'
import type * as RedkitExpress from '../src/integrations/express/index.js'
import { importPeer } from './peer-libraries.js'
import { createRedkit } from './redkit.js'

const [redisUrl, keyPrefix] = process.argv.slice(2)
if (!redisUrl || !keyPrefix) throw new Error('usage: http-app.ts <redis url> <key prefix>')

const entry = process.env.REDKIT_BENCH_SOURCE
  ? '../src/integrations/express/index.js'
  : '../dist/integrations/express/index.js'
const { cacheResponse } = (await import(entry)) as typeof RedkitExpress
const apicache = (
  await importPeer<{ default: { middleware: (duration: string) => RequestHandler } }>('apicache')
).default

/** The handler's work: a catalogue page built from objects on every call, ~2 KB as JSON. */
function catalogPage() {
  const items = []
  for (let i = 0; i < 12; i++) {
    items.push({
      id: i,
      sku: `SKU-${String(i).padStart(6, '0')}`,
      name: `Product number ${i}`,
      price: { amount: 1999 + i * 10, currency: 'EUR' },
      tags: ['catalog', 'bench', i % 2 ? 'odd' : 'even'],
      stock: { warehouse: 'north', count: i % 50 },
    })
  }
  return { page: 1, pageSize: 12, total: 240, items }
}
const CONSTANT_BODY = JSON.stringify(catalogPage())

const kit = createRedkit({ url: redisUrl, prefix: `${keyPrefix}rk:`, app: 'bench', environment: {} })
const withL1 = kit.cache('http-l1', { ttl: '10m', l1: { max: 10_000 } })
const withoutL1 = kit.cache('http-l2', { ttl: '10m' })

const app = express()
const page: RequestHandler = (_req, res) => {
  res.json(catalogPage())
}
app.get('/uncached', page)
app.get('/constant', (_req, res) => {
  res.type('application/json').send(CONSTANT_BODY)
})
// The floor of any Express route: prebuilt bytes and headers, no res.send, no ETag computed.
const RAW_BODY = Buffer.from(CONSTANT_BODY)
const RAW_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': String(RAW_BODY.length),
}
app.get('/raw', (_req, res) => {
  res.writeHead(200, RAW_HEADERS)
  res.end(RAW_BODY)
})
app.get('/cached', cacheResponse(withL1), page)
app.get('/cached-l2', cacheResponse(withoutL1), page)
app.get('/apicache', apicache.middleware('10 minutes'), page)

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ port: (server.address() as AddressInfo).port, bytes: CONSTANT_BODY.length })}\n`,
  )
})
process.on('SIGTERM', () => {
  server.closeAllConnections()
  server.close()
  void Promise.all([withL1.clear(), withoutL1.clear()])
    .catch(() => {})
    .finally(() => kit.close().finally(() => process.exit(0)))
})
