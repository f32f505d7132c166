import { describe, expect, it } from 'vitest'
import { createRedkit } from '../index.js'
import { tierRow } from './tier-row.js'
import { cacheTiers, tierTable } from './tiers.js'

describe('tierTable', () => {
  it('gives server ttl, swr, L1 ttl, Cache-Control and the React Query times of every preset', () => {
    expect(tierTable()).toEqual([
      {
        name: 'reference',
        ttlMs: 86_400_000,
        ttl: '24h',
        swrMs: 0,
        swr: '0s',
        // No L1 ttl of its own: the copy lives as long as the entry is fresh.
        l1TtlMs: 86_400_000,
        l1Ttl: '24h',
        cacheControl: 'private, max-age=300, stale-while-revalidate=86400',
        staleTime: 300_000,
        gcTime: 300_000 + 86_400_000,
      },
      {
        name: 'userContext',
        ttlMs: 300_000,
        ttl: '5m',
        swrMs: 0,
        swr: '0s',
        l1TtlMs: 30_000,
        l1Ttl: '30s',
        cacheControl: 'private, no-cache',
        staleTime: 0,
        gcTime: 300_000,
      },
      {
        name: 'list',
        ttlMs: 300_000,
        ttl: '5m',
        swrMs: 0,
        swr: '0s',
        l1TtlMs: null,
        l1Ttl: null,
        cacheControl: 'private, max-age=30',
        staleTime: 30_000,
        gcTime: 300_000,
      },
      {
        name: 'detail',
        ttlMs: 3_600_000,
        ttl: '1h',
        swrMs: 0,
        swr: '0s',
        l1TtlMs: 60_000,
        l1Ttl: '1m',
        cacheControl: 'private, no-cache',
        staleTime: 0,
        gcTime: 300_000,
      },
      {
        name: 'analytics',
        ttlMs: 300_000,
        ttl: '5m',
        swrMs: 900_000,
        swr: '15m',
        l1TtlMs: null,
        l1Ttl: null,
        cacheControl: 'private, max-age=300, stale-while-revalidate=900',
        staleTime: 300_000,
        gcTime: 1_200_000,
      },
    ])
  })

  it('is cacheTiers.table() and kit.tiers.table(), without adding a tier to Object.keys or JSON', async () => {
    const kit = createRedkit({ url: 'memory' })
    expect(cacheTiers.table()).toEqual(tierTable())
    expect(kit.tiers.table()).toEqual(tierTable())
    expect(Object.keys(cacheTiers)).toEqual(['reference', 'userContext', 'list', 'detail', 'analytics'])
    expect(Object.keys(JSON.parse(JSON.stringify(cacheTiers)))).toEqual(Object.keys(cacheTiers))
    expect({ ...cacheTiers }).not.toHaveProperty('table')
    expect(Object.isFrozen(cacheTiers)).toBe(true)
    // The function's name is not a tier.
    expect(() => kit.cache('x', { tier: 'table' as never })).toThrow(/tier must be one of/)
    await kit.close()
  })

  it('formats durations given in ms and reads Cache-Control loosely', () => {
    const row = tierRow('list', {
      ttl: 90_000,
      swr: 1500,
      l1: { max: 10 },
      cacheControl: 'Private, MAX-AGE="60" , stale-while-revalidate=600',
    })
    expect(row).toMatchObject({
      ttl: '90s',
      swr: '1500ms',
      l1TtlMs: 90_000,
      l1Ttl: '90s',
      staleTime: 60_000,
      gcTime: 660_000,
    })
    expect(tierRow('list', { ttl: '2d', cacheControl: 'no-store, max-age=60' })).toMatchObject({
      ttlMs: 172_800_000,
      staleTime: 0,
      gcTime: 300_000,
    })
    expect(tierRow('list', { ttl: 3_600_000, cacheControl: 'public' })).toMatchObject({
      ttl: '1h',
      staleTime: 0,
    })
  })
})
