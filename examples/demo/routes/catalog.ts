// Reference data and products: zones and rate cards (the `reference` tier, warmed at start) and product
// detail per company (the `detail` tier through a CachedRepository), with an update that writes it through.
// Reference data is public; products need a user of the company (and an admin to change one).

import { type Request, Router } from 'express'
import { CachedRepository, type Redkit } from '../../../src/index.js'
import type { Database } from '../database.js'
import { type DemoAccess, type DemoCaching, handle, intParam } from './shared.js'

export interface Product {
  id: number
  company_id: number
  vendor_id: number
  name: string
  price_cents: number
  stock: number
  vendor_name?: string
  ordersLast30Days?: number
}

interface Zone {
  id: number
  name: string
  country: string
}

/** How often product `p` sold in the 30 days before the dataset's last day. */
const SOLD_LAST_30_DAYS = `select count(*)::int from demo.orders o
  where o.product_id = p.id and o.created_at > timestamptz '2026-11-30' - interval '30 days'`

export function catalogRoutes(kit: Redkit, db: Database, caching: DemoCaching, access: DemoAccess): Router {
  const reference = kit.cache('reference', { tier: 'reference', enabled: caching.enabled })
  const products = new CachedRepository<Product>(kit, {
    name: 'products',
    owner: 'company',
    detail: { tier: 'detail', enabled: caching.enabled },
    list: { tier: 'list', enabled: caching.enabled },
    // The product page shows the vendor and how often it sold lately: what a product endpoint loads.
    loadById: async (id) => {
      const [product] = await db.query<Product>(
        'select p.*, v.name as vendor_name from demo.products p join demo.vendors v on v.id = p.vendor_id where p.id = $1',
        [id],
      )
      if (!product) return undefined
      const [sold] = await db.query<{ orders: number }>(
        `select (${SOLD_LAST_30_DAYS}) as orders from demo.products p where p.id = $1`,
        [id],
      )
      return { ...product, ordersLast30Days: sold?.orders ?? 0 }
    },
  })
  const zones = () =>
    reference.getOrSet('zones', () => db.query<Zone>('select * from demo.zones order by id'))
  const rateCards = (zoneId: number) =>
    reference.getOrSet(['rate-cards', zoneId], () =>
      db.query('select weight_kg, price_cents from demo.rate_cards where zone_id = $1 order by weight_kg', [
        zoneId,
      ]),
    )
  caching.warmers.push(async () => {
    await reference.warm([{ key: 'zones', factory: () => zones() }])
  })

  const router = Router()
  const cacheControl = (res: { set(name: string, value: string): void }, control: string | undefined) => {
    if (control) res.set('Cache-Control', control)
  }
  router.get(
    '/zones',
    handle(async (_req, res) => {
      cacheControl(res, reference.cacheControl)
      res.json(await zones())
    }),
  )
  router.get(
    '/zones/:zoneId/rate-cards',
    handle(async (req, res) => {
      cacheControl(res, reference.cacheControl)
      res.json(await rateCards(intParam(req, 'zoneId')))
    }),
  )
  const product = async (req: Request) => {
    const companyId = intParam(req, 'companyId')
    const found = await products.getById(intParam(req, 'productId'), companyId)
    return found && found.company_id === companyId ? found : undefined
  }
  router.get(
    '/companies/:companyId/products/:productId',
    access.can('products:read'),
    handle(async (req, res) => {
      const found = await product(req)
      if (!found) return void res.status(404).json({ error: 'no such product' })
      cacheControl(res, products.entities.cacheControl)
      res.json(found)
    }),
  )
  router.patch(
    '/companies/:companyId/products/:productId',
    access.can('products:write'),
    handle(async (req, res) => {
      const companyId = intParam(req, 'companyId')
      const id = intParam(req, 'productId')
      const price = Number((req.body as { price_cents?: unknown }).price_cents)
      if (!Number.isSafeInteger(price) || price <= 0) {
        return void res.status(400).json({ error: 'price_cents must be a positive whole number' })
      }
      // The update hands back the product as the product page shows it, so the cache is written
      // through: the next read (often this user's own) is a hit, not a load.
      const [updated] = await db.query<Product>(
        `update demo.products p set price_cents = $1, updated_at = now() from demo.vendors v
         where p.id = $2 and p.company_id = $3 and v.id = p.vendor_id
         returning p.*, v.name as vendor_name, (${SOLD_LAST_30_DAYS}) as "ordersLast30Days"`,
        [price, id, companyId],
      )
      if (!updated) return void res.status(404).json({ error: 'no such product' })
      await products.setEntity(id, updated, companyId)
      res.json(updated)
    }),
  )
  return router
}
