// Suite `cache`: getOrSet on L1 hits, L2 hits and misses against raw node-redis and raw ioredis doing the
// same work by hand (GET + JSON.parse, GET + SET), a Map, BentoCache 1.6 and cache-manager 7 (+ @keyv/redis).

import { createClient } from '@redis/client'
import { Redis } from 'ioredis'
import { deleteKeys } from '../delete-keys.js'
import { importPeer } from '../peer-libraries.js'
import { createRedkit } from '../redkit.js'
import type { BenchSuite } from './suite.js'

const WARM_KEYS = 1000
const CONCURRENCY = 100

/** A typical cached row: ~250 bytes of JSON. */
function product(i: number) {
  return {
    id: i,
    sku: `SKU-${String(i).padStart(6, '0')}`,
    name: `Product number ${i}`,
    price: { amount: 1999 + i, currency: 'EUR' },
    tags: ['catalog', 'bench', i % 2 ? 'odd' : 'even'],
    stock: { warehouse: 'north', count: i % 50 },
    updatedAt: '2026-11-25T12:00:00.000Z',
  }
}

interface BentoLike {
  getOrSet(options: { key: string; factory: () => unknown; ttl?: string }): Promise<unknown>
  disconnect(): Promise<void>
}
interface CacheManagerLike {
  wrap<T>(key: string, fn: () => Promise<T>, ttl?: number): Promise<T>
  disconnect(): Promise<unknown>
}

export const cacheSuite: BenchSuite = {
  name: 'cache',
  description:
    'getOrSet L1 hit, L2 hit and miss vs raw node-redis and ioredis, a Map, BentoCache 1.6, cache-manager 7',
  async setup({ url, keyPrefix }) {
    const kit = createRedkit({ url, prefix: `${keyPrefix}rk:`, app: 'bench', environment: {} })
    const cache = kit.cache('products', { ttl: '10m' })
    const nodeRedis = createClient({ url })
    await nodeRedis.connect()
    const redis = new Redis(url, { enableAutoPipelining: true })
    const rawKey = (i: number) => `${keyPrefix}raw:product:${i}`

    // Peers, each with its own connection and its own keys, configured as their READMEs show.
    const { BentoCache, bentostore } = await importPeer<{
      BentoCache: new (config: unknown) => BentoLike
      bentostore: () => { useL2Layer(driver: unknown): unknown }
    }>('bentocache')
    const { redisDriver, redisBusDriver } = await importPeer<{
      redisDriver: (options: unknown) => unknown
      redisBusDriver: (options: unknown) => unknown
    }>('bentocache/drivers/redis')
    const { memoryDriver } = await importPeer<{ memoryDriver: (options: unknown) => unknown }>(
      'bentocache/drivers/memory',
    )
    const bento = new BentoCache({
      default: 'redis',
      prefix: `${keyPrefix}bento`,
      stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { url } })) },
    })
    // BentoCache's two-tier setup, as its README shows: memory L1 + Redis L2 + Redis bus.
    const tieredStore = bentostore() as unknown as {
      useL1Layer(driver: unknown): { useL2Layer(driver: unknown): { useBus(bus: unknown): unknown } }
    }
    const bentoTiered = new BentoCache({
      default: 'tiered',
      prefix: `${keyPrefix}bento2`,
      stores: {
        tiered: tieredStore
          .useL1Layer(memoryDriver({ maxItems: 10_000 }))
          .useL2Layer(redisDriver({ connection: { url } }))
          .useBus(redisBusDriver({ connection: { url } })),
      },
    })
    const tiered = kit.cache('products-l1', { ttl: '10m', l1: { max: 10_000 } })
    const l1MostlyMisses = kit.cache('products-small-l1', { ttl: '10m', l1: { max: 10 } })
    const { createCache } = await importPeer<{ createCache: (options: unknown) => CacheManagerLike }>(
      'cache-manager',
    )
    const { Keyv } = await importPeer<{ Keyv: new (options: unknown) => unknown }>('keyv')
    const keyvRedis = await importPeer<{ default: new (url: string) => unknown }>('@keyv/redis')
    const manager = createCache({
      stores: [new Keyv({ store: new keyvRedis.default(url), namespace: `${keyPrefix}cm` })],
    })

    // Warm every side with the same 1,000 entries.
    for (let i = 0; i < WARM_KEYS; i++) {
      const value = product(i)
      await cache.set(['product', i], value)
      await tiered.set(`product:${i}`, value)
      await l1MostlyMisses.set(['product', i], value)
      await bentoTiered.getOrSet({ key: `product:${i}`, factory: () => value, ttl: '10m' })
      await redis.set(rawKey(i), JSON.stringify(value), 'PX', 600_000)
      await bento.getOrSet({ key: `product:${i}`, factory: () => value, ttl: '10m' })
      await manager.wrap(`product:${i}`, async () => value, 600_000)
    }
    let warm = 0
    const nextWarm = () => {
      warm = (warm + 1) % WARM_KEYS
      return warm
    }
    let fresh = 0
    const unexpected = () => {
      throw new Error('a warm key missed: the hit cases would measure the miss path')
    }

    // The physical limit of an in-process hit: a Map lookup plus an expiry check.
    const plainMap = new Map<string, { value: unknown; expiresAt: number }>()
    for (let i = 0; i < WARM_KEYS; i++)
      plainMap.set(`product:${i}`, { value: product(i), expiresAt: Date.now() + 600_000 })
    const hotKey = () => `product:${nextWarm()}`
    // What a hand-written cache does on a hit: GET and JSON.parse, on each client.
    const parseHit = (raw: string | null): unknown => {
      if (raw === null) unexpected()
      return JSON.parse(raw!)
    }
    const nodeRedisHit = {
      name: 'node-redis GET+parse',
      operation: async () => parseHit(await nodeRedis.get(rawKey(nextWarm()))),
    }
    const ioredisHit = {
      name: 'ioredis GET+parse',
      operation: async () => parseHit(await redis.get(rawKey(nextWarm()))),
    }
    // And on a miss: GET, then SET with a TTL.
    const freshRawKey = () => {
      const i = ++fresh
      return { i, key: `${keyPrefix}raw:new:${i}` }
    }
    return {
      cases: [
        {
          name: 'getOrSet L1 hit c=1',
          concurrency: 1,
          subject: () => tiered.getOrSet(hotKey(), unexpected),
          baselines: [
            {
              name: 'Map + expiry',
              operation: async () => {
                const entry = plainMap.get(hotKey())
                if (entry === undefined || entry.expiresAt <= Date.now()) unexpected()
                return entry!.value
              },
              target: 1,
            },
            {
              name: 'bentocache 1.6 L1',
              operation: () => bentoTiered.getOrSet({ key: hotKey(), factory: unexpected, ttl: '10m' }),
              target: 50,
            },
          ],
        },
        {
          name: `L1 miss, L2 hit c=${CONCURRENCY}`,
          concurrency: CONCURRENCY,
          subject: () => l1MostlyMisses.getOrSet(['product', nextWarm()], unexpected),
          baselines: [{ ...nodeRedisHit, target: 0.85 }, ioredisHit],
        },
        {
          name: `getOrSet L2 hit c=${CONCURRENCY}`,
          concurrency: CONCURRENCY,
          subject: () => cache.getOrSet(['product', nextWarm()], unexpected),
          baselines: [
            { ...nodeRedisHit, target: 1 },
            ioredisHit,
            {
              name: 'bentocache 1.6',
              operation: () =>
                bento.getOrSet({ key: `product:${nextWarm()}`, factory: unexpected, ttl: '10m' }),
              target: 3,
            },
            {
              name: 'cache-manager 7',
              operation: () => manager.wrap(`product:${nextWarm()}`, async () => unexpected(), 600_000),
            },
          ],
        },
        {
          name: `getOrSet miss c=${CONCURRENCY}`,
          concurrency: CONCURRENCY,
          subject: () => {
            const i = ++fresh
            return cache.getOrSet(['new', i], () => product(i), { ttl: 60_000 })
          },
          baselines: [
            {
              name: 'node-redis GET+SET',
              operation: async () => {
                const { i, key } = freshRawKey()
                const raw = await nodeRedis.get(key)
                if (raw !== null) return JSON.parse(raw)
                const value = product(i)
                await nodeRedis.set(key, JSON.stringify(value), { expiration: { type: 'PX', value: 60_000 } })
                return value
              },
            },
            {
              name: 'ioredis GET+SET',
              operation: async () => {
                const { i, key } = freshRawKey()
                const raw = await redis.get(key)
                if (raw !== null) return JSON.parse(raw)
                const value = product(i)
                await redis.set(key, JSON.stringify(value), 'PX', 60_000)
                return value
              },
            },
          ],
        },
      ],
      async teardown() {
        try {
          await cache.clear()
          await deleteKeys(redis, `${keyPrefix}*`)
        } finally {
          await kit.close()
          await bento.disconnect().catch(() => {})
          await bentoTiered.disconnect().catch(() => {})
          await manager.disconnect().catch(() => {})
          if (nodeRedis.isOpen) await nodeRedis.close()
          redis.disconnect()
        }
      },
    }
  },
}
