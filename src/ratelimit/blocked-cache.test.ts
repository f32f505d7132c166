import { describe, expect, it } from 'vitest'
import { BlockedCache } from './blocked-cache.js'

describe('BlockedCache', () => {
  it('answers until the block ends, then forgets', () => {
    let now = 1000
    const cache = new BlockedCache(10, () => now)
    cache.remember('k', 500)
    expect(cache.blockedUntil('k')).toBe(1500)
    now = 1499
    expect(cache.blockedUntil('k')).toBe(1500)
    now = 1500
    expect(cache.blockedUntil('k')).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('stays within its size, dropping the oldest', () => {
    const cache = new BlockedCache(2, () => 0)
    cache.remember('a', 10)
    cache.remember('b', 10)
    cache.remember('c', 10)
    expect(cache.size).toBe(2)
    expect(cache.blockedUntil('a')).toBeUndefined()
    expect(cache.blockedUntil('c')).toBe(10)
  })

  it('size 0 holds nothing', () => {
    const cache = new BlockedCache(0)
    cache.remember('a', 10_000)
    expect(cache.blockedUntil('a')).toBeUndefined()
  })
})
