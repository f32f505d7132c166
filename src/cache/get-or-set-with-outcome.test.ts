import { afterAll, describe, expect, it, vi } from 'vitest'
import { createRedkit } from '../index.js'
import type { FactoryContext } from './cache-options.js'

const kit = createRedkit({ url: 'memory', app: 'outcome', environment: {} })
afterAll(() => kit.close())

describe('getOrSetWithOutcome', () => {
  it('reports miss, then hit, from L1 and from the store', async () => {
    for (const [name, options] of [
      ['outcome-l1', { ttl: '1m', l1: { max: 10 } }],
      ['outcome-l2', { ttl: '1m' }],
    ] as const) {
      const cache = kit.cache<number>(name, options)
      const contexts: FactoryContext<number>[] = []
      const factory = (context: FactoryContext<number>) => {
        contexts.push(context)
        return 42
      }
      expect(await cache.getOrSetWithOutcome('k', factory)).toEqual({ value: 42, outcome: 'miss' })
      expect(await cache.getOrSetWithOutcome('k', factory)).toEqual({ value: 42, outcome: 'hit' })
      expect(await cache.getOrSetWithOutcome(['k', 2], factory)).toEqual({ value: 42, outcome: 'miss' })
      expect(await cache.getOrSetWithOutcome(['k', 2], factory)).toEqual({ value: 42, outcome: 'hit' })
      expect(contexts.map((context) => context.background)).toEqual([false, false])
    }
  })

  it('reports stale within swr, and the refresh it starts runs the factory with background: true', async () => {
    const cache = kit.cache<number>('outcome-swr', { ttl: 300, swr: '1m', l1: { max: 10 } })
    let calls = 0
    const backgrounds: boolean[] = []
    const factory = ({ background }: FactoryContext<number>) => {
      backgrounds.push(background)
      return ++calls
    }
    expect(await cache.getOrSetWithOutcome('k', factory)).toEqual({ value: 1, outcome: 'miss' })
    const stale = await vi.waitFor(
      async () => {
        const found = await cache.getOrSetWithOutcome('k', factory)
        expect(found.outcome).toBe('stale')
        return found
      },
      { timeout: 2000, interval: 20 },
    )
    expect(stale.value).toBe(1)
    await vi.waitFor(async () =>
      expect(await cache.getOrSetWithOutcome('k', factory)).toEqual({ value: 2, outcome: 'hit' }),
    )
    expect(backgrounds).toEqual([false, true])
  })

  it('reports a miss when the cache is off, and calls the factory', async () => {
    let on = true
    const cache = kit.cache<string>('outcome-off', { ttl: '1m', enabled: () => on })
    expect(await cache.getOrSetWithOutcome('k', () => 'a')).toEqual({ value: 'a', outcome: 'miss' })
    on = false
    expect(await cache.getOrSetWithOutcome('k', () => 'b')).toEqual({ value: 'b', outcome: 'miss' })
  })
})
