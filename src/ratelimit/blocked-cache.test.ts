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

describe('BlockedCache, over-the-limit answers', () => {
  it('holds for the rejected cost and above, not for a cheaper request', () => {
    let now = 0
    const cache = new BlockedCache(10, () => now)
    cache.rememberExceeded('k', 300, 3, 2, 900)
    expect(cache.lookup('k', 3)).toMatchObject({ until: 300, remaining: 2, resetAt: 900, blocked: false })
    expect(cache.lookup('k', 5)).toBeDefined()
    expect(cache.lookup('k', 2)).toBeUndefined()
    expect(cache.blockedUntil('k')).toBeUndefined()
    now = 300
    expect(cache.lookup('k', 3)).toBeUndefined()
  })

  it('never replaces a known block with a shorter over-the-limit answer', () => {
    const cache = new BlockedCache(10, () => 0)
    cache.remember('k', 1000)
    cache.rememberExceeded('k', 10, 1, 0, 10)
    expect(cache.lookup('k', 1)).toMatchObject({ until: 1000, blocked: true })
  })
})
