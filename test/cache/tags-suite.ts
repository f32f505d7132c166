// Tag invalidation behaviour every store must give: run on memory, a single Redis and a Cluster.

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidOptionsError, type Redkit } from '../../src/index.js'
import { waitFor } from '../harness/index.js'

export interface TagSuiteSetup {
  /** A new instance on the shared backend (each call gives another "process"). */
  kit(options?: { trust?: string | number }): Redkit
  /** Whether two kits share data (false for memory: each embedded store is its own). */
  shared: boolean
  teardown(): Promise<void>
}

const sweeperOf = (kit: Redkit) => kit.context.tags().sweeper!

async function keysUnder(kit: Redkit, prefix: string): Promise<Set<string>> {
  const found = new Set<string>()
  for await (const batch of kit.store.scan({ match: `${prefix}*` })) for (const key of batch) found.add(key)
  return found
}

export function tagSuite(name: string, setup: () => Promise<TagSuiteSetup>): void {
  describe(`tags on ${name}`, () => {
    let env: TagSuiteSetup
    let kit: Redkit
    beforeAll(async () => {
      env = await setup()
      kit = env.kit()
    }, 120_000)
    afterAll(async () => {
      await kit?.close()
      await env?.teardown()
    })
    const tag = (label: string) => `${label}:${randomUUID().slice(0, 8)}`
    const cache = () => kit.cache(`tags${randomUUID().slice(0, 8)}`, { ttl: '10m' })

    it('invalidating a tag makes its entries miss and leaves the others', async () => {
      const orders = cache()
      const [a, b] = [tag('company:42:orders'), tag('company:7:orders')]
      await orders.set(['list', 1], ['o1'], { tags: [a] })
      await orders.set(['list', 2], ['o2'], { tags: [a, b] })
      await orders.set(['list', 3], ['o3'], { tags: [b] })
      await orders.set(['plain'], 'untagged')
      expect(
        await orders.getMany([
          ['list', 1],
          ['list', 2],
          ['list', 3],
        ]),
      ).toEqual([['o1'], ['o2'], ['o3']])
      await kit.invalidateTags([a])
      expect(await orders.getMany([['list', 1], ['list', 2], ['list', 3], ['plain']])).toEqual([
        undefined,
        undefined,
        ['o3'],
        'untagged',
      ])
      let calls = 0
      expect(await orders.getOrSet(['list', 1], () => ['fresh', ++calls], { tags: [a] })).toEqual([
        'fresh',
        1,
      ])
      expect(await orders.getOrSet(['list', 1], () => ['fresh', ++calls], { tags: [a] })).toEqual([
        'fresh',
        1,
      ])
    })

    it('has(), ttl() and expire() agree with get() right after a tag is invalidated', async () => {
      for (const options of [{ ttl: '10m' }, { ttl: '10m', l1: { max: 100 } }] as const) {
        const c = kit.cache(`tags${randomUUID().slice(0, 8)}`, options)
        const t = tag('read')
        await c.set('k', 'v', { tags: [t] })
        await c.set('other', 'untagged')
        expect(await c.get('k')).toBe('v')
        expect(await c.has('k')).toBe(true)
        expect(await c.ttl('k')).toBeGreaterThan(590_000)
        await kit.invalidateTags([t])
        // Asked before any get, which would delete the entry and hide the difference.
        expect(await c.has('k')).toBe(false)
        expect(await c.ttl('k')).toBeUndefined()
        expect(await c.expire('k', '1h')).toBe(false)
        expect(await c.get('k')).toBeUndefined()
        expect(await c.has('other')).toBe(true)
        expect(await c.ttl('other')).toBeGreaterThan(590_000)
      }
    })

    it('10,000 entries tagged A and 100 tagged B: invalidating A is O(1) and exact', async () => {
      const list = cache()
      const [a, b] = [tag('A'), tag('B')]
      for (let start = 0; start < 10_000; start += 2000) {
        await list.setMany(
          Array.from({ length: 2000 }, (_, j) => ({ key: ['a', start + j], value: start + j, tags: [a] })),
        )
      }
      await list.setMany(Array.from({ length: 100 }, (_, i) => ({ key: ['b', i], value: i, tags: [b] })))
      const started = performance.now()
      await kit.invalidateTags([a])
      const elapsed = performance.now() - started
      expect(elapsed).toBeLessThan(100) // the bar is 500 ms; one command per tag keeps it flat
      const aKeys = Array.from({ length: 10_000 }, (_, i) => ['a', i])
      expect((await list.getMany(aKeys)).every((v) => v === undefined)).toBe(true)
      expect(await list.getMany(Array.from({ length: 100 }, (_, i) => ['b', i]))).toEqual(
        Array.from({ length: 100 }, (_, i) => i),
      )
    }, 60_000)

    it('a value built while its tag was invalidated is never served afterwards', async () => {
      const slow = cache()
      const t = tag('race')
      const building = slow.getOrSet(
        'k',
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 300))
          return 'built before the invalidation finished'
        },
        { tags: [t] },
      )
      await new Promise((resolve) => setTimeout(resolve, 100))
      await kit.invalidateTags([t])
      expect(await building).toBe('built before the invalidation finished')
      expect(await slow.get('k')).toBeUndefined()
      expect(await slow.getOrSet('k', () => 'rebuilt', { tags: [t] })).toBe('rebuilt')
    })

    it('a lost version key (eviction) invalidates instead of resurrecting', async () => {
      const lossy = cache()
      const t = tag('evict')
      await lossy.set('k', 'v1', { tags: [t] })
      await kit.invalidateTags([t])
      await lossy.set('k', 'v2', { tags: [t] })
      expect(await lossy.get('k')).toBe('v2')
      // Drop the version key as eviction would, and forget the in-process copy (another process).
      const fresh = env.kit({ trust: 0 })
      const versionKey = `${kit.keys.scope('tag').tagged(encodeURIComponent(t), 'v')}`
      expect(await kit.store.del([versionKey])).toBe(1)
      if (env.shared) expect(await fresh.cache(lossy.namespace, undefined).get('k')).toBeUndefined()
      const second = env.kit({ trust: 0 })
      if (env.shared) expect(await second.cache(lossy.namespace).get('k')).toBeUndefined()
      await Promise.all([fresh.close(), second.close()])
    })

    it('sweeps invalidated entries, keeping entries rewritten under the new version', async () => {
      const swept = cache()
      const t = tag('sweep')
      await swept.setMany(Array.from({ length: 3000 }, (_, i) => ({ key: ['e', i], value: i, tags: [t] })))
      await swept.set(['other'], 'untagged')
      await kit.invalidateTags([t])
      await swept.set(['e', 0], 'rewritten', { tags: [t] })
      await sweeperOf(kit).idle()
      const left = await keysUnder(kit, swept.keyPrefix)
      expect([...left].sort()).toEqual([swept.keyOf(['e', 0]), swept.keyOf(['other'])].sort())
      expect(await swept.get(['e', 0])).toBe('rewritten')
      const tagKeys = await keysUnder(kit, kit.keys.scope('tag').tagged(encodeURIComponent(t)))
      // What is left of the tag: its new version and the index of the new version.
      expect([...tagKeys].every((key) => key.endsWith(':v') || key.includes(':idx:'))).toBe(true)
    }, 30_000)

    it('rejects bad tags with a clear error', async () => {
      const c = cache()
      await expect(c.set('k', 1, { tags: [''] })).rejects.toBeInstanceOf(InvalidOptionsError)
      await expect(c.set('k', 1, { tags: [42 as never] })).rejects.toThrow(/non-empty string/)
      await expect(kit.invalidateTags('a' as never)).rejects.toThrow(/array/)
    })

    it('another instance sees an invalidation through the bus, not only after the trust bound', async () => {
      if (!env.shared) return
      const other = env.kit({ trust: '1h' })
      const ns = cache()
      const t = tag('bus')
      await ns.set('k', 'v', { tags: [t] })
      const theirs = other.cache(ns.namespace)
      expect(await theirs.get('k')).toBe('v') // caches the version for up to an hour
      await kit.invalidateTags([t])
      await waitFor(async () => (await theirs.get('k')) === undefined, {
        timeoutMs: 2000,
        message: 'the other instance still served the invalidated entry',
      })
      await other.close()
    })

    it('unfinished sweeps of a crashed instance are found and finished by another', async () => {
      if (!env.shared) return
      const crashing = env.kit()
      const ns = crashing.cache(`crash${randomUUID().slice(0, 6)}`)
      const t = tag('crash')
      await ns.setMany(Array.from({ length: 500 }, (_, i) => ({ key: ['e', i], value: i, tags: [t] })))
      sweeperOf(crashing).stop() // dies before sweeping
      await crashing.invalidateTags([t])
      await crashing.close()
      expect((await keysUnder(kit, ns.keyPrefix)).size).toBe(500)
      const survivor = env.kit()
      expect(await sweeperOf(survivor).resume()).toBeGreaterThanOrEqual(1)
      await sweeperOf(survivor).idle()
      // Another live instance's periodic resume may have taken the sweep's lock first and finish it instead.
      await waitFor(async () => (await keysUnder(kit, ns.keyPrefix)).size === 0, {
        timeoutMs: 10_000,
        message: "the crashed instance's sweep was never finished",
      })
      await survivor.close()
    })
  })
}
