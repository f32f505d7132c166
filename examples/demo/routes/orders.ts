// Orders per company (the `list` tier: one entry per company and query, tagged by company) and a vendor
// analytics dashboard (the `analytics` tier: 5 min fresh, then served stale while it refreshes).

import { Router } from 'express'
import { CachedRepository, type Redkit } from '../../../src/index.js'
import type { Database } from '../database.js'
import { BadRequest, type DemoAccess, type DemoCaching, handle, intParam } from './shared.js'

export interface Order {
  id: number
  company_id: number
  product_id: number
  vendor_id: number
  status: string
  quantity: number
  total_cents: number
  created_at: string
}

interface OrderQuery {
  page: number
  status?: string
}

/** The tag of a company's order lists of one status (`all` for unfiltered lists). */
function statusTag(companyId: number | string, status: string | undefined): string {
  return `company:${companyId}:orders:${status ?? 'all'}`
}

const STATUSES = new Set(['pending', 'paid', 'shipped', 'delivered', 'cancelled'])
const PAGE_SIZE = 20

export function orderRoutes(kit: Redkit, db: Database, caching: DemoCaching, access: DemoAccess): Router {
  const orders = new CachedRepository<Order, OrderQuery, { page: number; total: number; orders: Order[] }>(
    kit,
    {
      name: 'orders',
      owner: 'company',
      detail: { tier: 'detail', enabled: caching.enabled },
      list: { tier: 'list', enabled: caching.enabled },
      // Lists by status: a new order (pending) changes the "all" and "pending" lists, not the others.
      listTags: (companyId, query) => [statusTag(companyId, query.status)],
      loadById: async (id) => (await db.query<Order>('select * from demo.orders where id = $1', [id]))[0],
      loadList: async (companyId, query) => {
        const params: unknown[] = [companyId, PAGE_SIZE, (query.page - 1) * PAGE_SIZE]
        const status = query.status === undefined ? '' : `and status = $${params.push(query.status)}`
        // A page and the total for the pager: the two queries a paginated list endpoint runs.
        const [rows, [total]] = await Promise.all([
          db.query<Order>(
            `select * from demo.orders where company_id = $1 ${status} order by created_at desc, id desc limit $2 offset $3`,
            params,
          ),
          db.query<{ total: number }>(
            `select count(*)::int as total from demo.orders where company_id = $1 ${status.replace('$4', '$2')}`,
            query.status === undefined ? [companyId] : [companyId, query.status],
          ),
        ])
        return { page: query.page, total: total?.total ?? 0, orders: rows }
      },
    },
  )
  const analytics = kit.cache('vendor-analytics', { tier: 'analytics', enabled: caching.enabled })

  const router = Router()
  router.get(
    '/companies/:companyId/orders',
    access.can('orders:read'),
    handle(async (req, res) => {
      const page = req.query.page === undefined ? 1 : Number(req.query.page)
      if (!Number.isSafeInteger(page) || page < 1 || page > 500) throw new BadRequest('page must be 1 to 500')
      const status = typeof req.query.status === 'string' ? req.query.status : undefined
      if (status !== undefined && !STATUSES.has(status))
        throw new BadRequest(`status must be one of ${[...STATUSES].join(', ')}`)
      res.set('Cache-Control', orders.lists.cacheControl ?? 'no-store')
      res.json(
        await orders.getList(intParam(req, 'companyId'), status === undefined ? { page } : { page, status }),
      )
    }),
  )
  router.get(
    '/companies/:companyId/orders/:orderId',
    access.can('orders:read'),
    handle(async (req, res) => {
      const companyId = intParam(req, 'companyId')
      const order = await orders.getById(intParam(req, 'orderId'), companyId)
      if (!order || order.company_id !== companyId)
        return void res.status(404).json({ error: 'no such order' })
      res.json(order)
    }),
  )
  router.post(
    '/companies/:companyId/orders',
    access.can('orders:write'),
    handle(async (req, res) => {
      const companyId = intParam(req, 'companyId')
      const { productId, quantity } = req.body as { productId?: unknown; quantity?: unknown }
      const count = Number(quantity ?? 1)
      if (!Number.isSafeInteger(Number(productId)) || !Number.isSafeInteger(count) || count < 1) {
        throw new BadRequest('productId and quantity must be positive whole numbers')
      }
      const [order] = await db.query<Order>(
        `insert into demo.orders (id, company_id, product_id, vendor_id, status, quantity, total_cents, created_at)
         select nextval('demo.order_ids'), $1, p.id, p.vendor_id, 'pending', $3, p.price_cents * $3, now()
         from demo.products p where p.id = $2 returning *`,
        [companyId, Number(productId), count],
      )
      if (!order) return void res.status(404).json({ error: 'no such product' })
      // Only the company's lists a pending order appears in change; the rest stay cached.
      await kit.invalidateTags([statusTag(companyId, undefined), statusTag(companyId, 'pending')])
      res.status(201).json(order)
    }),
  )
  router.get(
    '/vendors/:vendorId/analytics',
    access.signedIn,
    handle(async (req, res) => {
      const vendorId = intParam(req, 'vendorId')
      const report = await analytics.getOrSet(['vendor', vendorId], async () => {
        const [days, totals] = await Promise.all([
          db.query(
            `select to_char(date_trunc('day', created_at), 'YYYY-MM-DD') as day, count(*)::int as orders, sum(total_cents)::bigint::text as revenue_cents
             from demo.orders where vendor_id = $1 and created_at > timestamptz '2026-11-30' - interval '30 days'
             group by 1 order by 1`,
            [vendorId],
          ),
          db.query(
            `select status, count(*)::int as orders, sum(total_cents)::bigint::text as revenue_cents
             from demo.orders where vendor_id = $1 group by status order by status`,
            [vendorId],
          ),
        ])
        return { vendorId, computedAt: new Date().toISOString(), days, byStatus: totals }
      })
      res.set('Cache-Control', analytics.cacheControl ?? 'no-store')
      res.json(report)
    }),
  )
  return router
}
