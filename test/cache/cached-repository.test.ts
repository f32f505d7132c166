// CachedRepository on the embedded store and on a real Redis: list keys from sorted queries, owner tags,
// and invalidation that drops exactly what a write changed, seen by a second instance.

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CachedRepository, createRedkit, InvalidOptionsError, type Redkit } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'

interface Order {
  id: number
  companyId: number
  status: string
}

/** A table of orders that counts its queries, as the database behind a repository would be hit. */
function ordersTable() {
  const rows: Order[] = []
  for (let id = 1; id <= 20; id++)
    rows.push({ id, companyId: id % 2 === 0 ? 2 : 1, status: id % 3 === 0 ? 'open' : 'done' })
  const queries = { byId: 0, list: 0 }
  return {
    rows,
    queries,
    byId: async (id: number | string) => {
      queries.byId++
      return rows.find((row) => row.id === Number(id)) ?? null
    },
    list: async (companyId: number | string, query: { status?: string; page?: number }) => {
      queries.list++
      return rows.filter(
        (row) => row.companyId === Number(companyId) && (!query.status || row.status === query.status),
      )
    },
  }
}

function repositorySuite(name: string, kits: () => { a: Redkit; b: Redkit }) {
  describe(`CachedRepository on ${name}`, () => {
    const make = (kit: Redkit, table: ReturnType<typeof ordersTable>, entity: string) =>
      new CachedRepository<Order, { status?: string; page?: number }>(kit, {
        name: entity,
        owner: 'company',
        loadById: table.byId,
        loadList: table.list,
      })
    /** One repository on each instance, each over its own table, sharing the caches' names. */
    const onBothInstances = () => {
      const { a, b } = kits()
      const entity = `orders${randomUUID().slice(0, 6)}`
      const tableA = ordersTable()
      const tableB = ordersTable()
      return { tableA, tableB, onA: make(a, tableA, entity), onB: make(b, tableB, entity) }
    }

    it('reads through both caches and keys lists by owner and the sorted query', async () => {
      const table = ordersTable()
      const orders = make(kits().a, table, `orders${randomUUID().slice(0, 6)}`)
      expect(await orders.getById(3, 1)).toMatchObject({ id: 3, status: 'open' })
      expect(await orders.getById(3, 1)).toMatchObject({ id: 3 })
      expect(table.queries.byId).toBe(1)
      const first = await orders.getList(1, { status: 'open', page: 1 })
      const same = await orders.getList(1, { page: 1, status: 'open' })
      expect(same).toEqual(first)
      expect(table.queries.list).toBe(1)
      await orders.getList(1, { page: 2, status: 'open' })
      await orders.getList(2, { page: 1, status: 'open' })
      expect(table.queries.list).toBe(3)
      // No entity: not cached, asked again next time.
      expect(await orders.getById(999)).toBeUndefined()
      expect(await orders.getById(999)).toBeUndefined()
      expect(table.queries.byId).toBe(3)
    })

    it('invalidateEntity drops the entity and its owner lists everywhere, and nothing of other owners', async () => {
      const { tableA, tableB, onA, onB } = onBothInstances()
      await onB.getById(3, 1)
      await onB.getList(1, { status: 'open' })
      await onB.getList(2, { status: 'open' })
      expect(tableB.queries).toEqual({ byId: 1, list: 2 })

      // New row objects: L1 hands out the cached instance, which must not change under the test.
      tableA.rows[2] = { ...tableA.rows[2]!, status: 'done' }
      tableB.rows[2] = { ...tableB.rows[2]!, status: 'done' }
      await onA.invalidateEntity(3, 1)

      // The other instance's L1 copy goes within bus delivery; until then it is served without a query.
      await waitFor(async () => (await onB.getById(3, 1))?.status === 'done', { timeoutMs: 2000 })
      expect((await onB.getList(1, { status: 'open' })).some((row) => row.id === 3)).toBe(false)
      await onB.getList(2, { status: 'open' })
      // Company 2's list stayed cached: one more load for the entity, one for company 1's list.
      expect(tableB.queries).toEqual({ byId: 2, list: 3 })
    })

    it('setEntity stores the written entity: the next read is a hit everywhere, the owner lists go', async () => {
      const { tableA, tableB, onA, onB } = onBothInstances()
      await onB.getById(3, 1)
      await onB.getList(1, { status: 'open' })
      expect(tableB.queries).toEqual({ byId: 1, list: 1 })

      const written = { ...tableA.rows[2]!, status: 'paid' }
      tableA.rows[2] = written
      tableB.rows[2] = { ...written }
      await onA.setEntity(3, written, 1)
      expect(await onA.getById(3, 1)).toEqual(written)
      expect(tableA.queries.byId).toBe(0)
      // The other instance drops its L1 copy within bus delivery, then reads the stored entity: no load.
      await waitFor(async () => (await onB.getById(3, 1))?.status === 'paid', { timeoutMs: 2000 })
      expect(tableB.queries.byId).toBe(1)
      await onB.getList(1, { status: 'open' })
      expect(tableB.queries.list).toBe(2)
      // Still invalidated by its tags like any other entry.
      await onA.invalidateOwner(1)
      await onA.getById(3, 1)
      expect(tableA.queries.byId).toBe(1)
    })

    it('setEntity during a slow load of the old row: the old row is never served after the write', async () => {
      const table = ordersTable()
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const orders = new CachedRepository<Order>(kits().a, {
        name: `orders${randomUUID().slice(0, 6)}`,
        owner: 'company',
        loadById: async (id) => {
          const row = await table.byId(id)
          await gate // the write lands while this load holds the old row
          return row
        },
      })
      const slow = orders.getById(3, 1)
      await new Promise((resolve) => setTimeout(resolve, 20))
      const written = { ...table.rows[2]!, status: 'paid' }
      table.rows[2] = written
      await orders.setEntity(3, written, 1)
      release()
      expect((await slow)?.status).toBe('open') // the caller that asked before the write
      for (let i = 0; i < 3; i++) expect((await orders.getById(3, 1))?.status).toBe('paid')
    })

    it('invalidateLists keeps entities; invalidateOwner drops lists and entities read with the owner', async () => {
      const table = ordersTable()
      const orders = make(kits().a, table, `orders${randomUUID().slice(0, 6)}`)
      await orders.getById(4, 2)
      await orders.getById(6) // read without its owner: only its own tag
      await orders.getList(2, {})
      await orders.invalidateLists(2)
      await orders.getById(4, 2)
      await orders.getList(2, {})
      expect(table.queries).toEqual({ byId: 2, list: 2 })
      await orders.invalidateOwner(2)
      await orders.getById(4, 2)
      await orders.getById(6)
      await orders.getList(2, {})
      expect(table.queries).toEqual({ byId: 3, list: 3 })
      expect(orders.listTag(2)).toBe(`company:2:${orders.name}`)
      expect(orders.ownerTag(2)).toBe('company:2')
    })

    it('listTags: a write invalidates only the lists it can change', async () => {
      const table = ordersTable()
      const kit = kits().a
      const orders = new CachedRepository<Order, { status?: string }>(kit, {
        name: `orders${randomUUID().slice(0, 6)}`,
        owner: 'company',
        loadById: table.byId,
        loadList: table.list,
        listTags: (companyId, query) => [`company:${companyId}:orders:${query.status ?? 'all'}`],
      })
      await orders.getList(1, {})
      await orders.getList(1, { status: 'open' })
      await orders.getList(1, { status: 'done' })
      await kit.invalidateTags(['company:1:orders:all', 'company:1:orders:open'])
      await orders.getList(1, {})
      await orders.getList(1, { status: 'open' })
      await orders.getList(1, { status: 'done' })
      expect(table.queries.list).toBe(5)
    })

    it('refuses bad options and a list read without loadList', async () => {
      const kit = kits().a
      const table = ordersTable()
      expect(() => new CachedRepository(kit, { name: 'bad name', loadById: table.byId })).toThrow(
        InvalidOptionsError,
      )
      expect(
        () =>
          new CachedRepository(kit, { name: 'x', loadByld: table.byId } as unknown as {
            name: string
            loadById: () => null
          }),
      ).toThrow(/loadById/)
      expect(
        () => new CachedRepository(kit, { name: 'y', loadById: 'nope' as unknown as () => null }),
      ).toThrow(/must be a function/)
      const noLists = new CachedRepository(kit, {
        name: `z${randomUUID().slice(0, 6)}`,
        loadById: table.byId,
      })
      await expect(noLists.getList(1)).rejects.toThrow(/loadList/)
    })
  })
}

describe('CachedRepository', () => {
  let memory: Redkit
  let server: RedisServer
  let redisA: Redkit
  let redisB: Redkit
  beforeAll(async () => {
    memory = createRedkit({ url: 'memory', environment: {} })
    server = await startRedis()
    redisA = createRedkit({ url: server.url, environment: {} })
    redisB = createRedkit({ url: server.url, environment: {} })
  }, 60_000)
  afterAll(async () => {
    await Promise.all([memory?.close(), redisA?.close(), redisB?.close()])
    await stopAllServers()
  })

  // In memory mode both "instances" are one kit: what one invalidates the other sees at once.
  repositorySuite('MemoryStore', () => ({ a: memory, b: memory }))
  repositorySuite('RedisStore (two instances)', () => ({ a: redisA, b: redisB }))
})
