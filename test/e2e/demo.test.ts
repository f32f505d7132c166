// The demo app over real HTTP, on the embedded store and on a real Redis (embedded PGlite database both
// times, seeded small): every route it lists answers as documented, and caching saves database queries.

import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDemoApp, type DemoApp } from '../../examples/demo/app.js'
import { type Database, openDatabase } from '../../examples/demo/database.js'
import { createRedkit, type Redkit } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'

const SIZE = { companies: 10, products: 200, orders: 2000 }

let db: Database
let server: RedisServer
beforeAll(async () => {
  ;[db, server] = await Promise.all([openDatabase(undefined, SIZE), startRedis()])
}, 120_000)
afterAll(async () => {
  await db?.close()
  await stopAllServers()
})

/** A client that keeps the session cookie, as a browser would. */
class Client {
  cookie = ''
  constructor(readonly base: string) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(this.base + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const setCookie = response.headers.get('set-cookie')
    if (setCookie) this.cookie = setCookie.split(';')[0]!
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined }
  }
}

function demoSuite(name: string, makeKit: () => Redkit) {
  describe(`the demo on ${name}`, () => {
    let kit: Redkit
    let demo: DemoApp
    let client: Client
    let close: () => Promise<void>
    const logins = new Map<number, Promise<Client>>()
    /** A client logged in as user N: the admin of company N up to 10 (SIZE.companies), a member above. */
    const as = (userId: number) => {
      let login = logins.get(userId)
      if (!login) {
        login = (async () => {
          const user = new Client(client.base)
          const answer = await user.call('POST', '/auth/login', {
            email: `user${userId}@demo.test`,
            password: 'demo',
          })
          expect(answer.status).toBe(200)
          return user
        })()
        logins.set(userId, login)
      }
      return login
    }

    beforeAll(async () => {
      kit = makeKit()
      demo = createDemoApp({ kit, db })
      await demo.warm()
      const listening = demo.app.listen(0, '127.0.0.1')
      await new Promise<void>((resolve) => listening.once('listening', () => resolve()))
      client = new Client(`http://127.0.0.1:${(listening.address() as AddressInfo).port}`)
      close = async () => {
        listening.closeAllConnections()
        await new Promise<void>((resolve) => listening.close(() => resolve()))
        await demo.close()
        await kit.close()
      }
    })
    afterAll(() => close?.())

    it('lists its routes, store and database on /', async () => {
      const index = await client.call('GET', '/')
      expect(index.status).toBe(200)
      expect(index.body).toMatchObject({ store: kit.mode, database: 'pglite (embedded)' })
    })

    it('serves reference data and product detail from the cache after the first read', async () => {
      const zones = await client.call('GET', '/api/zones')
      expect(zones.status).toBe(200)
      expect(zones.body).toHaveLength(40)
      expect(zones.headers.get('cache-control')).toBe('private, max-age=300, stale-while-revalidate=86400')
      expect((await client.call('GET', '/api/zones/3/rate-cards')).body).toHaveLength(30)

      const admin = await as(7)
      const before = db.queries
      const product = await admin.call('GET', '/api/companies/7/products/7')
      expect(product.body).toMatchObject({ id: 7, company_id: 7 })
      await admin.call('GET', '/api/companies/7/products/7')
      await admin.call('GET', '/api/zones')
      // Once each: the caller's user and role permissions, the product and its 30-day order count.
      expect(db.queries - before).toBe(4)
      // Another company's product is not found under this company.
      expect((await admin.call('GET', '/api/companies/7/products/8')).status).toBe(404)
      expect((await admin.call('GET', '/api/companies/x/products/7')).status).toBe(400)
    })

    it('lets only users of the company in, and only admins change it', async () => {
      expect((await client.call('GET', '/api/companies/7/products/7')).status).toBe(401)
      expect((await client.call('GET', '/api/vendors/12/analytics')).status).toBe(401)
      const admin = await as(7)
      const elsewhere = await admin.call('GET', '/api/companies/8/products/8')
      expect(elsewhere).toMatchObject({ status: 403, body: { error: 'not a member of this company' } })
      expect((await admin.call('GET', '/api/companies/8/orders')).status).toBe(403)
      // User 17 is a member of company 7: it reads, and may not change prices or place orders.
      const member = await as(17)
      expect((await member.call('GET', '/api/companies/7/products/7')).status).toBe(200)
      expect((await member.call('GET', '/api/companies/7/orders')).status).toBe(200)
      const patch = await member.call('PATCH', '/api/companies/7/products/7', { price_cents: 1 })
      expect(patch).toMatchObject({ status: 403, body: { error: 'your role may not products:write' } })
      expect((await member.call('POST', '/api/companies/7/orders', { productId: 7 })).status).toBe(403)
      expect((await admin.call('GET', '/api/companies/7/products/7')).body.price_cents).not.toBe(1)
    })

    it('an update writes the product through: the next read shows the new price, the whole product', async () => {
      const admin = await as(3)
      const before = (await admin.call('GET', '/api/companies/3/products/3')).body
      expect(before).toMatchObject({ vendor_name: expect.any(String), ordersLast30Days: expect.any(Number) })
      const updated = await admin.call('PATCH', '/api/companies/3/products/3', { price_cents: 4242 })
      expect(updated.body).toMatchObject({ price_cents: 4242 })
      const after = (await admin.call('GET', '/api/companies/3/products/3')).body
      // Exactly what a load would give: the same vendor and sales, the new price and update time.
      expect(after).toEqual({ ...before, price_cents: 4242, updated_at: after.updated_at })
      expect(after).toEqual(updated.body)
      expect((await admin.call('PATCH', '/api/companies/3/products/3', { price_cents: -1 })).status).toBe(400)
    })

    it('lists orders per company and query, and a new order shows in the next list', async () => {
      const admin = await as(5)
      const first = await admin.call('GET', '/api/companies/5/orders?status=pending&page=1')
      expect(first.status).toBe(200)
      expect(first.body.orders.length).toBeGreaterThan(0)
      expect(
        first.body.orders.every(
          (o: { company_id: number; status: string }) => o.company_id === 5 && o.status === 'pending',
        ),
      ).toBe(true)
      const before = db.queries
      await admin.call('GET', '/api/companies/5/orders?page=1&status=pending')
      expect(db.queries).toBe(before)
      const created = await admin.call('POST', '/api/companies/5/orders', { productId: 15, quantity: 2 })
      expect(created.status).toBe(201)
      const after = await admin.call('GET', '/api/companies/5/orders?status=pending&page=1')
      expect(after.body.orders[0]).toMatchObject({ id: created.body.id, status: 'pending' })
      const detail = await admin.call('GET', `/api/companies/5/orders/${created.body.id}`)
      expect(detail.body).toMatchObject({ id: created.body.id, quantity: 2 })
      expect((await admin.call('GET', '/api/companies/5/orders?status=lost')).status).toBe(400)
    })

    it('computes vendor analytics once and serves them from the analytics tier', async () => {
      const admin = await as(7)
      const first = await admin.call('GET', '/api/vendors/12/analytics')
      expect(first.body).toMatchObject({ vendorId: 12 })
      expect(first.body.byStatus.length).toBeGreaterThan(0)
      const again = await admin.call('GET', '/api/vendors/12/analytics')
      expect(again.body.computedAt).toBe(first.body.computedAt)
      expect(again.headers.get('cache-control')).toContain('stale-while-revalidate=900')
    })

    it('logs in with a session, lists devices, issues and revokes a JWT, logs out everywhere', async () => {
      expect(
        (await client.call('POST', '/auth/login', { email: 'user9@demo.test', password: 'nope' })).status,
      ).toBe(401)
      const login = await client.call('POST', '/auth/login', { email: 'user9@demo.test', password: 'demo' })
      expect(login.body).toEqual({ userId: 9, companyId: 9 })
      const other = new Client(client.base)
      await other.call('POST', '/auth/login', { email: 'user9@demo.test', password: 'demo' })
      const devices = await client.call('GET', '/auth/devices')
      expect(devices.body).toHaveLength(2)

      const { token } = (await client.call('POST', '/auth/token')).body as { token: string }
      const bearer = { authorization: `Bearer ${token}` }
      expect((await client.call('GET', '/api/me', undefined, bearer)).body).toMatchObject({
        id: 9,
        email: 'user9@demo.test',
      })
      // The token alone (no cookie) opens the company's routes, until it is revoked.
      const api = new Client(client.base)
      expect((await api.call('GET', '/api/companies/9/products/9', undefined, bearer)).status).toBe(200)
      expect((await client.call('POST', '/auth/token/revoke', undefined, bearer)).status).toBe(200)
      expect((await api.call('GET', '/api/companies/9/products/9', undefined, bearer)).status).toBe(401)
      expect((await client.call('GET', '/api/me', undefined, bearer)).body).toEqual({
        error: 'token revoked',
      })

      const second = (await other.call('POST', '/auth/token')).body as { token: string }
      expect((await other.call('POST', '/auth/logout-everywhere')).body).toEqual({ endedSessions: 2 })
      expect((await client.call('GET', '/auth/devices')).status).toBe(401)
      // Tokens issued before "log out everywhere" are revoked too.
      const late = await other.call('GET', '/api/me', undefined, { authorization: `Bearer ${second.token}` })
      expect(late.status).toBe(401)
    })

    it('limits payments to 5 a minute per user', async () => {
      const payer = new Client(client.base)
      await payer.call('POST', '/auth/login', { email: 'user8@demo.test', password: 'demo' })
      const statuses: number[] = []
      for (let i = 0; i < 6; i++)
        statuses.push((await payer.call('POST', '/api/payments', { amountCents: 500 })).status)
      expect(statuses).toEqual([201, 201, 201, 201, 201, 429])
    })

    it('runs a report as a BullMQ job on Redis, and says it needs Redis on the embedded store', async () => {
      const admin = await as(4)
      const queued = await admin.call('POST', '/api/companies/4/reports')
      if (kit.mode === 'memory') {
        expect(queued.status).toBe(503)
        return
      }
      expect(queued.status).toBe(202)
      const report = await waitFor(
        async () => {
          const state = await admin.call('GET', `/api/reports/${queued.body.jobId}`)
          return state.body.state === 'completed' ? state.body : undefined
        },
        { timeoutMs: 10_000 },
      )
      expect(report.result).toMatchObject({ companyId: 4 })
      expect(report.result.orders).toBeGreaterThan(0)
    })

    it('answers health, readiness, metrics, the tier table and the dashboard', async () => {
      expect((await client.call('GET', '/health/live')).status).toBe(200)
      const ready = await client.call('GET', '/health/ready')
      expect(ready.status).toBe(200)
      expect(JSON.stringify(ready.body)).toContain('database')
      expect((await client.call('GET', '/health/redis')).status).toBe(200)
      const cache = await client.call('GET', '/health/cache')
      expect(JSON.stringify(cache.body)).toContain('orders')
      const metrics = await client.call('GET', '/metrics/redkit')
      expect(metrics.status).toBe(200)
      expect(JSON.stringify(metrics.body)).toContain('products')
      expect((await client.call('GET', '/metrics/database')).body.queries).toBeGreaterThan(0)
      const tiers = await client.call('GET', '/api/cache-tiers')
      expect(JSON.stringify(tiers.body)).toContain('staleTime')
      const page = await fetch(`${client.base}/dashboard/`)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('redkit')
      expect((await client.call('GET', '/dashboard/data.json')).status).toBe(200)
    })
  })
}

demoSuite('the embedded store', () => createRedkit({ url: 'memory', app: 'demo', environment: {} }))
demoSuite('Redis', () => createRedkit({ url: server.url, app: 'demo', environment: {} }))
