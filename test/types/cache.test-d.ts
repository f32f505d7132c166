import { describe, expectTypeOf, it } from 'vitest'
import {
  type Cache,
  CachedRepository,
  type CacheKey,
  type CacheMetricsSnapshot,
  type CacheOptions,
  type CacheSerializer,
  type CacheTierName,
  type cacheTiers,
  createRedkit,
  JsonSerializer,
} from '../../src/index.js'

interface Product {
  id: number
  name: string
}

describe('cache types', () => {
  const kit = createRedkit()

  it('a cache is typed by its value type', () => {
    const products = kit.cache<Product>('products', { ttl: '10m' })
    expectTypeOf(products).toEqualTypeOf<Cache<Product>>()
    expectTypeOf(products.get(['product', 1])).resolves.toEqualTypeOf<Product | undefined>()
    expectTypeOf(products.getOrSet('k', () => ({ id: 1, name: 'x' }))).resolves.toEqualTypeOf<Product>()
    expectTypeOf(products.getOrSet('k', async () => 42)).resolves.toEqualTypeOf<number>()
    expectTypeOf(products.getMany(['a', 'b'])).resolves.toEqualTypeOf<(Product | undefined)[]>()
    expectTypeOf(products.deletePattern('product:*')).resolves.toBeNumber()
    expectTypeOf(products.ttl('k')).resolves.toEqualTypeOf<number | undefined>()
  })

  it('tiers are cache options, by name or spread', () => {
    expectTypeOf(kit.tiers).toEqualTypeOf<typeof cacheTiers>()
    expectTypeOf(kit.tiers.reference).toMatchTypeOf<CacheOptions>()
    expectTypeOf(kit.tiers.userContext.cacheControl).toBeString()
    expectTypeOf<CacheTierName>().toEqualTypeOf<
      'reference' | 'userContext' | 'list' | 'detail' | 'analytics'
    >()
    kit.cache('zones', { tier: 'reference', ttl: '12h' })
    kit.cache('charts', { ...kit.tiers.analytics, swr: '30m' })
    expectTypeOf(kit.cache('zones').cacheControl).toEqualTypeOf<string | undefined>()
    // @ts-expect-error not a tier
    kit.cache('x', { tier: 'hot' })
  })

  it('keys are strings or arrays of parts', () => {
    const cache = kit.cache('any')
    expectTypeOf<string>().toExtend<CacheKey>()
    expectTypeOf<['orders', number, { status: string }]>().toExtend<CacheKey>()
    // @ts-expect-error numbers alone are not keys
    void cache.get(42)
    // @ts-expect-error ttl is a duration
    void cache.set('k', 1, { ttl: true })
  })

  it('options are checked', () => {
    kit.cache('a', { compression: 'brotli', compressThreshold: 2048, maxSize: 1 << 20, strict: true })
    kit.cache('b', { compression: false, cacheNullish: true, serializer: new JsonSerializer() })
    // @ts-expect-error unknown compression
    kit.cache('c', { compression: 'zip' })
    const serializer: CacheSerializer = {
      serialize: (v) => Buffer.from(String(v)),
      deserialize: (b) => String(b),
    }
    kit.cache('d', { serializer })
  })

  it('metrics snapshots are typed', () => {
    expectTypeOf<CacheMetricsSnapshot['hitRate']>().toBeNumber()
    expectTypeOf<CacheMetricsSnapshot['getLatencyMs']>().toEqualTypeOf<{ p50: number; p99: number }>()
  })
})

describe('tag types', () => {
  const kit = createRedkit({ tags: { trust: '100ms', reclaim: true, sweepRate: 100_000 } })
  it('invalidateTags takes tag names', () => {
    expectTypeOf(kit.invalidateTags(['a', 'b'])).resolves.toBeVoid()
    // @ts-expect-error one tag is still an array
    void kit.invalidateTags('a')
  })
  it('entries take tags', () => {
    const orders = kit.cache<string[]>('orders')
    void orders.getOrSet(['company', 1], () => ['o'], { tags: ['company:1:orders'] })
    void orders.setMany([{ key: 'k', value: ['x'], tags: ['t'] }])
    // @ts-expect-error tags are strings
    void orders.set('k', ['x'], { tags: [1] })
  })
})

describe('two-tier and resilience types', () => {
  const kit = createRedkit()
  it('factories receive an abort signal and the stale value', () => {
    const reports = kit.cache<{ total: number }>('reports', {
      ttl: '5m',
      swr: '15m',
      grace: '1h',
      hardTimeout: '5s',
    })
    void reports.getOrSet('k', ({ signal, stale }) => {
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>()
      expectTypeOf(stale).toEqualTypeOf<{ total: number } | undefined>()
      return { total: 1 }
    })
  })
  it('l1, lock and warm options are typed', () => {
    const zones = kit.cache<string>('zones', {
      l1: { max: 10, maxBytes: 1024, ttl: '1m' },
      lock: { wait: '1s', ttl: '5s' },
    })
    expectTypeOf(
      zones.warm([
        { key: 'a', value: 'x' },
        { key: 'b', factory: async () => 'y' },
      ]),
    ).resolves.toEqualTypeOf<{
      loaded: number
      failed: number
    }>()
    zones.on('warmProgress', (progress) => expectTypeOf(progress.loaded).toBeNumber())
    // @ts-expect-error eagerRefresh is a fraction
    kit.cache('x', { eagerRefresh: '80%' })
    // @ts-expect-error l1 is false or options
    kit.cache('y', { l1: true })
    kit.cache('versioned', { version: 3, enabled: () => true })
    kit.cache('named-version', { version: '2024-06', enabled: false })
    // @ts-expect-error enabled is a boolean or a function returning one
    kit.cache('z', { enabled: 'yes' })
  })
})

describe('CachedRepository', () => {
  it('types entities, queries and lists', () => {
    const kit = createRedkit({ url: 'memory' })
    interface Order {
      id: number
    }
    const orders = new CachedRepository<Order, { page: number }>(kit, {
      name: 'orders',
      loadById: async (id) => ({ id: Number(id) }),
      loadList: async (_owner, query) => [{ id: query.page }],
    })
    expectTypeOf(orders.getById(1)).resolves.toEqualTypeOf<Order | undefined>()
    expectTypeOf(orders.getList(1, { page: 2 })).resolves.toEqualTypeOf<Order[]>()
    // @ts-expect-error the query has the declared shape
    orders.getList(1, { pages: 2 })
    expectTypeOf(orders.invalidateEntity(1, 2)).resolves.toBeVoid()
    expectTypeOf(orders.setEntity(1, { id: 1 }, 2)).resolves.toBeVoid()
    // @ts-expect-error the entity has the repository's type
    orders.setEntity(1, { name: 'x' })
  })
})
