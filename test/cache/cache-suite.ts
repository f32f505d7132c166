// The cache behaviour every store must give: run by memory.test.ts, redis.test.ts and cluster.test.ts.
// Each test uses its own namespace, so the suites can share one server.

import { randomUUID } from 'node:crypto'
import { deserialize, serialize } from 'node:v8'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CacheSerializationError,
  CacheValueTooLargeError,
  InvalidOptionsError,
  type Redkit,
} from '../../src/index.js'

export interface CacheSuiteSetup {
  kit: Redkit
  teardown(): Promise<void>
}

export function cacheSuite(name: string, setup: () => Promise<CacheSuiteSetup>): void {
  describe(`cache on ${name}`, () => {
    let kit: Redkit
    let teardown: () => Promise<void>
    beforeAll(async () => {
      ;({ kit, teardown } = await setup())
    }, 120_000)
    afterAll(() => teardown?.())

    const fresh = (options?: Parameters<Redkit['cache']>[1]) =>
      kit.cache(`t${randomUUID().slice(0, 8)}`, options)

    it('sets, gets, deletes and reports has/ttl', async () => {
      const cache = fresh({ ttl: '1m' })
      expect(await cache.get('a')).toBeUndefined()
      await cache.set('a', { n: 1 })
      expect(await cache.get('a')).toEqual({ n: 1 })
      expect(await cache.has('a')).toBe(true)
      const ttl = await cache.ttl('a')
      expect(ttl).toBeGreaterThan(55_000)
      expect(ttl).toBeLessThanOrEqual(60_000)
      expect(await cache.delete('a')).toBe(true)
      expect(await cache.delete('a')).toBe(false)
      expect(await cache.has('a')).toBe(false)
      expect(await cache.ttl('a')).toBeUndefined()
    })

    it('expires entries after their ttl, per call or per cache', async () => {
      const cache = fresh({ ttl: 80 })
      await cache.set('short', 1)
      await cache.set('long', 2, { ttl: '1m' })
      const started = Date.now()
      while ((await cache.get('short')) !== undefined) {
        expect(Date.now() - started).toBeLessThan(2000)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(60)
      expect(await cache.get('long')).toBe(2)
    })

    it('expire() gives an existing entry a new ttl', async () => {
      const cache = fresh({ ttl: '1m' })
      await cache.set('k', 'v')
      expect(await cache.expire('k', '2h')).toBe(true)
      expect(await cache.ttl('k')).toBeGreaterThan(3_600_000)
      expect(await cache.expire('missing', '1h')).toBe(false)
      expect(await cache.expire('k', 0)).toBe(true)
      expect(await cache.ttl('k')).toBe(Number.POSITIVE_INFINITY)
      expect(await cache.get('k')).toBe('v')
    })

    it('round-trips objects, arrays, unicode, nesting, null, Date and BigInt', async () => {
      const cache = fresh()
      const values: unknown[] = [
        { a: 1, b: [1, 'two', { three: true }], c: null },
        [1, [2, [3, [4]]]],
        'héllo wörld — 日本語 — 🚀 — \u0000 nul',
        { deep: { deeper: { deepest: { list: Array.from({ length: 50 }, (_, i) => ({ i })) } } } },
        null,
        0,
        false,
        '',
        { when: new Date('2024-02-29T12:34:56.789Z'), big: 12345678901234567890n, list: [new Date(0), -5n] },
      ]
      for (const [i, value] of values.entries()) {
        await cache.set(['v', i], value)
        expect(await cache.get(['v', i])).toEqual(value)
      }
      const back = (await cache.get(['v', values.length - 1])) as { when: Date; big: bigint }
      expect(back.when).toBeInstanceOf(Date)
      expect(typeof back.big).toBe('bigint')
    })

    it('compresses large payloads (gzip and brotli) and reads them back', async () => {
      for (const compression of ['gzip', 'brotli'] as const) {
        const cache = fresh({ compression })
        const large = {
          rows: Array.from({ length: 2000 }, (_, i) => ({ id: i, name: `row ${i}`, tags: ['a', 'b'] })),
        }
        await cache.set('big', large)
        const raw = await kit.store.get(cache.keyOf('big'))
        expect(raw).not.toBeNull()
        expect(raw!.length).toBeLessThan(JSON.stringify(large).length / 4)
        expect(await cache.get('big')).toEqual(large)
      }
    })

    it('refuses values above maxSize and stores nothing', async () => {
      const cache = fresh({ maxSize: 1000 })
      await expect(cache.set('huge', 'x'.repeat(2000))).rejects.toBeInstanceOf(CacheValueTooLargeError)
      await expect(cache.set('huge', 'x'.repeat(2000))).rejects.toThrow(/maxSize 1000/)
      expect(await kit.store.get(cache.keyOf('huge'))).toBeNull()
      await expect(cache.getOrSet('huge2', () => 'y'.repeat(5000))).rejects.toBeInstanceOf(
        CacheValueTooLargeError,
      )
      expect(await kit.store.get(cache.keyOf('huge2'))).toBeNull()
    })

    it('refuses values JSON would mangle, with a clear error', async () => {
      const cache = fresh()
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      await expect(cache.set('f', { f: () => 1 })).rejects.toThrow(/Cannot cache a function \(at key 'f'\)/)
      await expect(cache.set('s', Symbol('x'))).rejects.toBeInstanceOf(CacheSerializationError)
      await expect(cache.set('c', cyclic)).rejects.toBeInstanceOf(CacheSerializationError)
      await expect(cache.set('p', JSON.parse('{"__proto__":{"x":1}}'))).rejects.toThrow(/__proto__/)
    })

    it('never hands out prototype-polluting payloads', async () => {
      const cache = fresh()
      await cache.set('ok', { a: 1 })
      const raw = (await kit.store.get(cache.keyOf('ok')))!
      const poisoned = raw.replace(
        '{"a":1}',
        '{"a":1,"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"x":1}}}',
      )
      await kit.store.set(cache.keyOf('ok'), poisoned)
      const value = (await cache.get('ok')) as Record<string, unknown>
      expect(value).toEqual({ a: 1 })
      expect(Object.hasOwn(value, '__proto__')).toBe(false)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    })

    it('builds keys from parts: objects hashed with sorted keys, user input cannot forge separators', async () => {
      const cache = fresh()
      await cache.set(['orders', 42, { status: 'open', page: 2 }], ['o1'])
      expect(await cache.get(['orders', 42, { page: 2, status: 'open' }])).toEqual(['o1'])
      expect(await cache.get(['orders', 42, { page: 3, status: 'open' }])).toBeUndefined()
      await cache.set(['a:b'], 1)
      expect(await cache.get(['a', 'b'])).toBeUndefined()
      expect(cache.keyOf(['product', 7])).toBe(`${cache.keyPrefix}product:7`)
      expect(cache.keyOf('product:7')).toBe(`${cache.keyPrefix}product:7`)
    })

    it('gives clear errors for bad keys, factories and options', async () => {
      const cache = fresh()
      expect(() => cache.keyOf('')).toThrow(InvalidOptionsError)
      expect(() => cache.keyOf([])).toThrow(/non-empty/)
      expect(() => cache.keyOf(42 as never)).toThrow(/number/)
      await expect(cache.getOrSet('k', 'nope' as never)).rejects.toThrow(/factory function/)
      await expect(cache.set('k', 1, { ttl: -1 })).rejects.toThrow(/ttl/)
      await expect(cache.deletePattern('')).rejects.toThrow(/glob/)
      expect(() => kit.cache('bad name')).toThrow(InvalidOptionsError)
      expect(() => fresh({ ttl: '-5m' })).toThrow(/ttl/)
      expect(() => fresh({ compression: 'zip' as never })).toThrow(/compression/)
      expect(() => fresh({ maxSize: -1 })).toThrow(/maxSize/)
      expect(() => fresh({ colour: 1 } as never)).toThrow(/unknown option 'colour'/)
      expect(() => fresh({ l1: { maxx: 10 } } as never)).toThrow(/unknown option 'l1\.maxx'/)
      // Per-call options are checked too: a typo would silently change nothing.
      await expect(cache.set('k', 1, { ttll: '1m' } as never)).rejects.toThrow(/set: unknown option 'ttll'/)
      await expect(cache.getOrSet('k', () => 1, { tag: ['a'] } as never)).rejects.toThrow(
        /getOrSet: unknown option 'tag'/,
      )
      await expect(cache.warm([], { concurency: 2 } as never)).rejects.toThrow(
        /warm: unknown option 'concurency'/,
      )
      expect(await kit.store.get(cache.keyOf('k'))).toBeNull()
      const named = kit.cache(`n${randomUUID().slice(0, 6)}`, { ttl: '1m' })
      expect(kit.cache(named.namespace)).toBe(named)
      expect(kit.cache(named.namespace, { ttl: '1m' })).toBe(named)
      expect(() => kit.cache(named.namespace, { ttl: '2m' })).toThrow(/already exists with other options/)
    })

    it('applies a tier preset: its ttl and Cache-Control, with fields set beside it taking precedence', async () => {
      const reference = fresh({ tier: 'reference' })
      expect(reference.cacheControl).toBe(kit.tiers.reference.cacheControl)
      await reference.set('zone', { id: 1 })
      expect(await reference.get('zone')).toEqual({ id: 1 })
      // 24 h, not the 1 h default.
      expect(await reference.ttl('zone')).toBeGreaterThan(23 * 3_600_000)

      const shorter = fresh({ ...kit.tiers.analytics, ttl: '2m', cacheControl: 'private, max-age=60' })
      expect(shorter.cacheControl).toBe('private, max-age=60')
      await shorter.set('chart', [1, 2])
      expect(await shorter.ttl('chart')).toBeLessThanOrEqual(120_000)
      expect(fresh({ tier: 'detail', ttl: '10m' }).cacheControl).toBe('private, no-cache')
      expect(fresh().cacheControl).toBeUndefined()

      expect(() => fresh({ tier: 'hot' as never })).toThrow(/tier must be one of 'reference', 'userContext'/)
      expect(() => fresh({ cacheControl: 'max-age=1\r\nSet-Cookie: a=b' })).toThrow(/cacheControl/)
    })

    it('calls the factory once for 200 concurrent getOrSet of one missing key', async () => {
      const cache = fresh()
      let calls = 0
      const factory = async () => {
        calls++
        await new Promise((resolve) => setTimeout(resolve, 30))
        return { built: calls }
      }
      const results = await Promise.all(Array.from({ length: 200 }, () => cache.getOrSet('hot', factory)))
      expect(calls).toBe(1)
      for (const result of results) expect(result).toEqual({ built: 1 })
      expect(await cache.getOrSet('hot', factory)).toEqual({ built: 1 })
      expect(calls).toBe(1)
    })

    it('passes a factory error to every waiting caller and caches nothing', async () => {
      const cache = fresh()
      let calls = 0
      const failing = async () => {
        calls++
        await new Promise((resolve) => setTimeout(resolve, 20))
        throw new Error('database down')
      }
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => cache.getOrSet('k', failing)))
      expect(calls).toBe(1)
      for (const result of results) {
        expect(result.status).toBe('rejected')
        expect((result as PromiseRejectedResult).reason.message).toBe('database down')
      }
      expect(await kit.store.get(cache.keyOf('k'))).toBeNull()
      expect(await cache.getOrSet('k', () => 'recovered')).toBe('recovered')
    })

    it('does not cache undefined unless cacheNullish; null is cached', async () => {
      const cache = fresh()
      let calls = 0
      const none = () => {
        calls++
        return undefined
      }
      await cache.getOrSet('u', none)
      await cache.getOrSet('u', none)
      expect(calls).toBe(2)
      await cache.getOrSet('u2', none, { cacheNullish: true })
      await cache.getOrSet('u2', none, { cacheNullish: true })
      expect(calls).toBe(3)
      let nullCalls = 0
      const nothing = () => {
        nullCalls++
        return null
      }
      expect(await cache.getOrSet('n', nothing)).toBeNull()
      expect(await cache.getOrSet('n', nothing)).toBeNull()
      expect(nullCalls).toBe(1)
      const nullish = fresh({ cacheNullish: true })
      await nullish.getOrSet('u', none)
      await nullish.getOrSet('u', none)
      expect(calls).toBe(4)
    })

    it('getMany, setMany and deleteMany across many keys (and slots)', async () => {
      const cache = fresh()
      const entries = Array.from({ length: 300 }, (_, i) => ({
        key: ['item', i],
        value: { i },
        ttl: i % 2 ? '1h' : 60_000,
      }))
      await cache.setMany(entries)
      const keys = entries.map((e) => e.key)
      const values = await cache.getMany([...keys, ['item', 'missing']])
      expect(values.slice(0, 300)).toEqual(entries.map((e) => e.value))
      expect(values[300]).toBeUndefined()
      expect(await cache.deleteMany(keys.slice(0, 100))).toBe(100)
      const after = await cache.getMany(keys)
      expect(after.filter((v) => v === undefined)).toHaveLength(100)
    })

    it('deletePattern removes exactly the matching keys, escaping user input, and clear() the rest', async () => {
      const cache = fresh()
      const other = fresh()
      await cache.setMany<unknown>([
        ...Array.from({ length: 500 }, (_, i) => ({ key: ['product', i], value: i })),
        ...Array.from({ length: 50 }, (_, i) => ({ key: ['user', 'a*b', i], value: i })),
        ...Array.from({ length: 50 }, (_, i) => ({ key: ['user', 'aXb', i], value: i })),
        { key: ['productx'], value: 'not matched by product:*' },
      ])
      await other.set(['product', 1], 'other namespace')
      expect(await cache.deletePattern('product:*')).toBe(500)
      expect(await cache.get(['productx'])).toBe('not matched by product:*')
      expect(await cache.deletePattern(cache.pattern(['user', 'a*b']))).toBe(50)
      expect(await cache.get(['user', 'aXb', 3])).toBe(3)
      expect(await cache.clear()).toBe(51)
      expect(await other.get(['product', 1])).toBe('other namespace')
    })

    it('treats foreign or corrupt data as a miss, deletes it and counts it', async () => {
      const cache = fresh()
      const garbage = [
        'not an envelope',
        'rk1|t-- broken',
        'rk1|tg-|1|zzzzzzzz|zzzzzzzz||@@@not-base64-gzip@@@',
        'rk1|t--|a|zzzzzzzz|zzzzzzzz||{"unclosed":',
      ]
      for (const [i, raw] of garbage.entries()) {
        await kit.store.set(cache.keyOf(['g', i]), raw)
        expect(await cache.get(['g', i])).toBeUndefined()
        expect(await kit.store.get(cache.keyOf(['g', i]))).toBeNull()
      }
      await kit.store.set(cache.keyOf('g2'), 'garbage')
      expect(await cache.getOrSet('g2', () => 'from factory')).toBe('from factory')
      expect(await cache.get('g2')).toBe('from factory')
      const metrics = kit.metrics().cache as Record<string, { corrupt: number }>
      expect(metrics[cache.namespace]!.corrupt).toBe(garbage.length + 1)
      // A key of another type (not a string at all) reads as a miss and is replaced by the next write.
      await kit.store.sadd(cache.keyOf('wrongtype'), ['member'])
      expect(await cache.get('wrongtype')).toBeUndefined()
      expect(await cache.getOrSet('wrongtype', () => 'replaced')).toBe('replaced')
      expect(await cache.get('wrongtype')).toBe('replaced')
    })

    it('supports a pluggable binary serializer', async () => {
      const cache = fresh({
        serializer: {
          serialize: (value) => serialize(value),
          deserialize: (data) => deserialize(data as Buffer),
        },
      })
      const value = {
        map: new Map([['a', 1]]),
        set: new Set([1, 2]),
        when: new Date(5),
        bytes: new Uint8Array([0, 255]),
      }
      await cache.set('v', value)
      expect(await cache.get('v')).toEqual(value)
      const large = { list: Array.from({ length: 3000 }, (_, i) => `entry-${i}`) }
      await cache.set('large', large)
      expect(await cache.get('large')).toEqual(large)
    })

    it('reports metrics per namespace', async () => {
      const cache = fresh()
      await cache.get('miss')
      await cache.set('hit', 1)
      await cache.get('hit')
      await cache.get('hit')
      await cache.getOrSet('made', () => 2)
      await cache.delete('hit')
      // Latency is sampled (one read in 8): enough reads make sure some are timed.
      for (let i = 0; i < 16; i++) await cache.get('sampled')
      const snapshot = (kit.metrics().cache as Record<string, Record<string, unknown>>)[cache.namespace]!
      expect(snapshot).toMatchObject({
        hits: 2,
        misses: 18,
        sets: 2,
        deletes: 1,
        errors: 0,
        corrupt: 0,
        factoryCalls: 1,
      })
      expect(snapshot.hitRate).toBe(0.1)
      const latency = snapshot.getLatencyMs as { p50: number; p99: number }
      expect(latency.p50).toBeGreaterThan(0)
      expect(latency.p99).toBeGreaterThanOrEqual(latency.p50)
    })

    it('keeps each version of a cache under its own keys, so a bumped version never reads old entries', async () => {
      const namespace = `v${randomUUID().slice(0, 8)}`
      const old = kit.cache(namespace, { ttl: '1m', version: 1 })
      await old.set(['product', 7], { shape: 'old' })
      expect(old.keyOf(['product', 7])).toBe(`${kit.prefix}cache:${namespace}@1:product:7`)
      const bumped = kit.cache(`${namespace}-next`, { ttl: '1m', version: 'v2' })
      expect(bumped.keyOf('k')).toBe(`${kit.prefix}cache:${namespace}-next@v2:k`)
      // Another deploy of the same namespace at a new version: a separate instance shares the store.
      const other = await setup()
      try {
        const current = other.kit.cache(namespace, { ttl: '1m', version: 2 })
        let calls = 0
        const value = await current.getOrSet(['product', 7], () => {
          calls++
          return { shape: 'new' }
        })
        expect(value).toEqual({ shape: 'new' })
        expect(calls).toBe(1)
        // The old entry is still there for old code, and clear() of the new version leaves it alone.
        expect(await old.get(['product', 7])).toEqual({ shape: 'old' })
        await current.clear()
        expect(await old.get(['product', 7])).toEqual({ shape: 'old' })
      } finally {
        await other.teardown()
      }
      expect(() => kit.cache(`${namespace}-bad`, { version: 'a:b' })).toThrow(InvalidOptionsError)
      expect(() => kit.cache(`${namespace}-bad`, { version: 1.5 })).toThrow(/version must be/)
    })

    it('enabled: false calls the factory every time, stores nothing and says so in metrics', async () => {
      const cache = fresh({ ttl: '1m', enabled: false, l1: { max: 10 } })
      let calls = 0
      const factory = () => ++calls
      expect(await cache.getOrSet('k', factory)).toBe(1)
      expect(await cache.getOrSet('k', factory)).toBe(2)
      await cache.set('k', 'ignored')
      expect(await cache.get('k')).toBeUndefined()
      expect(await cache.has('k')).toBe(false)
      expect(await cache.getMany(['k', 'j'])).toEqual([undefined, undefined])
      expect(await kit.store.get(cache.keyOf('k'))).toBeNull()
      const snapshot = (kit.metrics().cache as Record<string, Record<string, unknown>>)[cache.namespace]!
      expect(snapshot).toMatchObject({ enabled: false, bypassed: 6, factoryCalls: 2, sets: 0, hits: 0 })
      expect(cache.enabled).toBe(false)
    })

    it('enabled as a function is asked on every call: a flag turned off bypasses, back on caches again', async () => {
      let on = true
      const cache = fresh({ ttl: '1m', enabled: () => on, l1: { max: 10 } })
      let calls = 0
      const factory = () => ++calls
      expect(await cache.getOrSet('k', factory)).toBe(1)
      expect(await cache.getOrSet('k', factory)).toBe(1)
      on = false
      expect(await cache.getOrSet('k', factory)).toBe(2)
      // Deletes still apply while off, so nothing stale waits for the flag to come back.
      expect(await cache.delete('k')).toBe(true)
      on = true
      expect(await cache.getOrSet('k', factory)).toBe(3)
      expect(await cache.getOrSet('k', factory)).toBe(3)
      const snapshot = (kit.metrics().cache as Record<string, Record<string, unknown>>)[cache.namespace]!
      expect(snapshot).toMatchObject({ enabled: true, bypassed: 1 })
      expect(() => fresh({ enabled: 'yes' as unknown as boolean })).toThrow(/enabled must be/)
    })
  })
}
