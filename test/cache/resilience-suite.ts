// L1, stale-while-revalidate, grace, timeouts, eager refresh, warming and option checks: behaviour every
// store must give. Run by resilience-memory.test.ts and resilience-redis.test.ts.

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CacheFactoryTimeoutError,
  type CacheOptions,
  InvalidOptionsError,
  type Redkit,
} from '../../src/index.js'
import { waitFor } from '../harness/index.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function resilienceSuite(
  name: string,
  setup: () => Promise<{ kit: Redkit; teardown(): Promise<void> }>,
): void {
  describe(`two-tier cache and resilience on ${name}`, () => {
    let kit: Redkit
    let teardown: () => Promise<void>
    beforeAll(async () => {
      ;({ kit, teardown } = await setup())
    }, 120_000)
    afterAll(() => teardown?.())
    const fresh = (options?: CacheOptions) => kit.cache(`r${randomUUID().slice(0, 8)}`, options)
    const metricsOf = (namespace: string) =>
      (kit.metrics().cache as Record<string, Record<string, number>>)[namespace]!

    it('serves L1 hits without reading the store, within the L1 ttl', async () => {
      const cache = fresh({ ttl: '1m', l1: { max: 100, ttl: 200 } })
      await cache.set('k', { v: 1 })
      // Remove the stored entry behind the cache's back: only L1 can still answer.
      await kit.store.del([cache.keyOf('k')])
      expect(await cache.get('k')).toEqual({ v: 1 })
      expect(await cache.getOrSet('k', () => ({ v: 'factory' }))).toEqual({ v: 1 })
      expect(metricsOf(cache.namespace).l1Hits).toBe(2)
      await waitFor(async () => (await cache.get('k')) === undefined, { message: 'L1 copy outlived its ttl' })
    })

    it('returns the same instance from L1 unless clone is set', async () => {
      const shared = fresh({ l1: {} })
      const cloned = fresh({ l1: {}, clone: true })
      const value = { list: [1, 2] }
      await shared.set('k', value)
      await cloned.set('k', value)
      expect(await shared.get('k')).toBe(await shared.get('k'))
      const a = (await cloned.get('k')) as typeof value
      a.list.push(3)
      expect(await cloned.get('k')).toEqual({ list: [1, 2] })
    })

    it('bounds L1 by entries', async () => {
      const cache = fresh({ l1: { max: 10 } })
      await cache.setMany(Array.from({ length: 30 }, (_, i) => ({ key: ['k', i], value: i })))
      for (let i = 0; i < 30; i++) await cache.get(['k', i])
      expect(metricsOf(cache.namespace).l1Size).toBeLessThanOrEqual(10)
    })

    it('bounds L1 by bytes: entries larger than maxBytes are served from the store, never held', async () => {
      const cache = fresh({ l1: { max: 10, maxBytes: 1000 }, compression: false })
      const value = (i: number) => `${i}:${'x'.repeat(5000)}`
      await cache.setMany(Array.from({ length: 100 }, (_, i) => ({ key: ['big', i], value: value(i) })))
      for (let i = 0; i < 100; i++) expect(await cache.get(['big', i])).toBe(value(i))
      for (let i = 0; i < 100; i++) await cache.set(['set', i], value(i))
      expect(metricsOf(cache.namespace).l1Size).toBe(0)
      // Served from the store every time, and correctly, once the copy it would have had is gone.
      await kit.store.del([cache.keyOf(['set', 7])])
      expect(await cache.get(['set', 7])).toBeUndefined()
      expect(await cache.get(['big', 42])).toBe(value(42))
      expect(metricsOf(cache.namespace).l1Hits).toBe(0)
      // Entries that fit are held, as many as the byte bound allows.
      await cache.setMany(
        Array.from({ length: 20 }, (_, i) => ({ key: ['small', i], value: 'y'.repeat(200) })),
      )
      for (let i = 0; i < 20; i++) await cache.get(['small', i])
      const size = metricsOf(cache.namespace).l1Size
      expect(size).toBeGreaterThan(0)
      expect(size).toBeLessThanOrEqual(4)
    })

    it('stale-while-revalidate: serves stale at once, refreshes exactly once, then serves fresh', async () => {
      const cache = fresh({ ttl: 100, swr: '10s' })
      let calls = 0
      let refreshed = false
      const factory = async () => {
        calls++
        await sleep(calls === 1 ? 0 : 300)
        if (calls > 1) refreshed = true
        return `v${calls}`
      }
      expect(await cache.getOrSet('k', factory)).toBe('v1')
      await sleep(130)
      const results = await Promise.all(Array.from({ length: 20 }, () => cache.getOrSet('k', factory)))
      // Every caller got the stale value without waiting for the (300 ms) refresh.
      expect(refreshed).toBe(false)
      expect(new Set(results)).toEqual(new Set(['v1']))
      await waitFor(() => refreshed, { message: 'no background refresh' })
      await waitFor(async () => (await cache.getOrSet('k', factory)) === 'v2', {
        message: 'refreshed value not served',
      })
      expect(calls).toBe(2)
      expect(metricsOf(cache.namespace).staleHits).toBeGreaterThanOrEqual(20)
    })

    it('has(), ttl() and expire() agree with get() on fresh, stale (swr) and expired (grace only) entries', async () => {
      const cache = fresh({ ttl: '1m', swr: '10s', grace: '10s' })
      await cache.set('fresh', 'f')
      await cache.set('stale', 's', { ttl: 1 })
      const short = fresh({ ttl: 1, grace: '10s' })
      await short.set('expired', 'e')
      const written = Date.now()
      // A 1 ms ttl: both entries are past their fresh time as soon as the clock has moved on.
      await waitFor(() => Date.now() > written + 1, { message: 'the clock did not move' })

      expect(await cache.get('fresh')).toBe('f')
      expect(await cache.has('fresh')).toBe(true)
      expect(await cache.ttl('fresh')).toBeGreaterThan(55_000)

      // Stale within swr: get serves it, so it exists; nothing is left of its fresh time.
      expect(await cache.get('stale')).toBe('s')
      expect(await cache.has('stale')).toBe(true)
      expect(await cache.ttl('stale')).toBe(0)

      // Past swr, kept only as a grace fallback: get misses, so nothing reports it, and expire cannot revive it.
      expect(await short.has('expired')).toBe(false)
      expect(await short.ttl('expired')).toBeUndefined()
      expect(await short.expire('expired', '1h')).toBe(false)
      expect(await short.get('expired')).toBeUndefined()
    })

    it('a failing background refresh keeps the stale value and is counted, never thrown', async () => {
      const cache = fresh({ ttl: 80, swr: '10s' })
      await cache.getOrSet('k', () => 'old')
      await sleep(110)
      expect(await cache.getOrSet('k', () => Promise.reject(new Error('db down')))).toBe('old')
      await waitFor(() => metricsOf(cache.namespace).refreshErrors === 1, {
        message: 'refresh error not counted',
      })
      expect(await cache.getOrSet('k', () => Promise.reject(new Error('db down')))).toBe('old')
    })

    it('grace: a failing factory is replaced by the last value within grace, and fails after it', async () => {
      const cache = fresh({ ttl: 60, grace: 400 })
      await cache.getOrSet('k', () => 'last good')
      await sleep(100)
      expect(await cache.getOrSet('k', () => Promise.reject(new Error('db down')))).toBe('last good')
      expect(metricsOf(cache.namespace).graceHits).toBe(1)
      await sleep(450)
      await expect(cache.getOrSet('k', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down')
      expect(await cache.get('k')).toBeUndefined()
    })

    it('soft timeout returns the stale value and lets the factory update the cache', async () => {
      const cache = fresh({ ttl: 60, grace: '10s', softTimeout: 50 })
      await cache.getOrSet('k', () => 'old')
      await sleep(90)
      const started = performance.now()
      const slow = async () => {
        await sleep(300)
        return 'new'
      }
      expect(await cache.getOrSet('k', slow)).toBe('old')
      expect(performance.now() - started).toBeLessThan(250)
      await waitFor(async () => (await cache.get('k')) === 'new', {
        message: 'factory did not finish in the background',
      })
    })

    it('hard timeout aborts the factory and rejects with CacheFactoryTimeoutError when nothing stale exists', async () => {
      const cache = fresh({ hardTimeout: 60 })
      let signal: AbortSignal | undefined
      const started = performance.now()
      await expect(
        cache.getOrSet('k', async (context) => {
          signal = context.signal
          await sleep(400)
          return 'too late'
        }),
      ).rejects.toBeInstanceOf(CacheFactoryTimeoutError)
      expect(performance.now() - started).toBeLessThan(300)
      expect(signal?.aborted).toBe(true)
      await sleep(400)
      expect(await cache.get('k')).toBeUndefined()
    })

    it('hard timeout serves a stale value when there is one', async () => {
      const cache = fresh({ ttl: 50, grace: '10s', hardTimeout: 60 })
      await cache.getOrSet('k', () => 'old')
      await sleep(80)
      expect(
        await cache.getOrSet('k', async ({ stale }) => {
          expect(stale).toBe('old')
          await sleep(400)
          return 'new'
        }),
      ).toBe('old')
    })

    it('eager refresh: a late hit refreshes in the background while returning the current value', async () => {
      const cache = fresh({ ttl: 300, eagerRefresh: 0.5 })
      let calls = 0
      const factory = () => `v${++calls}`
      expect(await cache.getOrSet('k', factory)).toBe('v1')
      expect(await cache.getOrSet('k', factory)).toBe('v1')
      expect(calls).toBe(1)
      await sleep(180)
      expect(await cache.getOrSet('k', factory)).toBe('v1')
      await waitFor(() => calls === 2, { message: 'no eager refresh' })
      await waitFor(async () => (await cache.get('k')) === 'v2', { message: 'eager refresh not stored' })
    })

    it('warms from arrays and async iterables with progress, counting failures', async () => {
      const cache = fresh({ l1: {} })
      const progress: number[] = []
      cache.on('warmProgress', (p) => progress.push(p.loaded + p.failed))
      const result = await cache.warm(
        [
          { key: 'a', value: 1 },
          { key: 'b', factory: async () => 2 },
          { key: 'c', factory: () => Promise.reject(new Error('nope')) },
        ],
        { concurrency: 2 },
      )
      expect(result).toEqual({ loaded: 2, failed: 1 })
      expect(progress.sort()).toEqual([1, 2, 3])
      async function* zones() {
        for (let i = 0; i < 50; i++) yield { key: ['zone', i], value: { i } }
      }
      const seen: number[] = []
      expect(await cache.warm(zones(), { concurrency: 8, onProgress: (p) => seen.push(p.loaded) })).toEqual({
        loaded: 50,
        failed: 0,
      })
      expect(seen.at(-1)).toBe(50)
      expect(await cache.get(['zone', 49])).toEqual({ i: 49 })
      await expect(cache.warm([], { concurrency: 0 })).rejects.toThrow(/concurrency/)
    })

    it('lock: a value the previous holder stored after our miss is not built again once we hold the lock', async () => {
      const cache = fresh({ ttl: '1m', lock: { wait: '5s', ttl: '5s' } })
      const store = kit.store
      const set = store.set
      // Another instance finishes between this caller's read (a miss) and its taking the lock: it stores
      // its value and releases the lock just before our SET NX of the lock key.
      store.set = async function (this: typeof store, ...args: Parameters<typeof set>) {
        const [key, , options] = args
        if (options?.condition === 'NX' && key.includes('lock')) {
          store.set = set
          await cache.set('k', 'built elsewhere')
        }
        return set.apply(this, args)
      }
      let calls = 0
      try {
        const value = await cache.getOrSet('k', () => {
          calls++
          return 'built here'
        })
        expect(value).toBe('built elsewhere')
        expect(calls).toBe(0)
      } finally {
        store.set = set
      }
    })

    it('refuses invalid combinations at construction', () => {
      expect(() => fresh({ ttl: 0, swr: '1m' })).toThrow(/swr and grace need a ttl/)
      expect(() => fresh({ grace: -1 })).toThrow(InvalidOptionsError)
      expect(() => fresh({ ttl: '1m', l1: { ttl: '2m' } })).toThrow(/l1.ttl/)
      expect(() => fresh({ softTimeout: 100, hardTimeout: 50 })).toThrow(/softTimeout/)
      expect(() => fresh({ eagerRefresh: 1.5 })).toThrow(/eagerRefresh/)
      expect(() => fresh({ lock: { ttl: 0 } })).toThrow(/lock.ttl/)
      expect(() => fresh({ l1: { max: 0 } })).toThrow(/l1.max/)
    })
  })
}
