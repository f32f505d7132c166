import { describe, expect, it } from 'vitest'
import { L1Cache } from './l1-cache.js'

const entry = (value: unknown) => ({
  value,
  createdAt: 0,
  freshUntil: Number.MAX_SAFE_INTEGER,
  staleUntil: Number.MAX_SAFE_INTEGER,
  l1Until: Number.MAX_SAFE_INTEGER,
  tags: '',
})

function held(l1: L1Cache, keys: readonly string[]): string[] {
  return keys.filter((key) => l1.get(key) !== undefined)
}

describe('L1Cache bounds', () => {
  it('holds at most max entries, dropping the least recently set', () => {
    const l1 = new L1Cache({ max: 10, maxBytes: 1_000_000 })
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`)
    for (const key of keys) l1.set(key, entry(key), 10)
    expect(l1.size).toBe(10)
    expect(held(l1, keys)).toEqual(keys.slice(20))
  })

  it('holds at most maxBytes in total', () => {
    const l1 = new L1Cache({ max: 1000, maxBytes: 1000 })
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
    for (const key of keys) l1.set(key, entry(key), 300)
    expect(l1.size).toBe(3)
    expect(held(l1, keys)).toEqual(keys.slice(17))
  })

  it('never holds an entry larger than maxBytes, and drops the older copy it replaces', () => {
    const l1 = new L1Cache({ max: 10, maxBytes: 1000 })
    l1.set('small', entry('small'), 100)
    l1.set('k', entry('old'), 100)
    l1.set('k', entry('too big'), 5000)
    expect(l1.get('k')).toBeUndefined()
    expect(l1.peekAny('k')).toBeUndefined()
    const keys = Array.from({ length: 100 }, (_, i) => `big${i}`)
    for (const key of keys) l1.set(key, entry(key), 5000)
    expect(held(l1, keys)).toEqual([])
    expect(l1.size).toBe(1)
    expect(l1.get('small')?.value).toBe('small')
  })
})
