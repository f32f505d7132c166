import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../store/memory/memory-store.js'
import { encodePart, escapeGlob, KeyBuilder, stableJson } from './key-builder.js'

describe('KeyBuilder', () => {
  const keys = new KeyBuilder('shop:prod:')

  it('joins parts under the prefix', () => {
    expect(keys.build('product', 42)).toBe('shop:prod:product:42')
    expect(keys.scope('orders').build('company', 7)).toBe('shop:prod:orders:company:7')
  })

  it('cannot be forged with separators, hash tags or percent signs in user input', () => {
    expect(keys.build('a:b')).not.toBe(keys.build('a', 'b'))
    expect(keys.build('a%3Ab')).not.toBe(keys.build('a:b'))
    expect(keys.build('{x}')).toBe('shop:prod:%7Bx%7D')
  })

  it('hashes objects independently of key order and nested undefined', () => {
    const a = keys.build('list', { b: 1, a: { y: [1, 2], x: 'q' } })
    const b = keys.build('list', { a: { x: 'q', y: [1, 2], z: undefined }, b: 1 })
    expect(a).toBe(b)
    expect(a).not.toBe(keys.build('list', { b: 2, a: { y: [1, 2], x: 'q' } }))
    expect(a).toMatch(/^shop:prod:list:h\.[A-Za-z0-9_-]{16}$/)
  })

  it('encodes arrays, null, undefined, booleans and bigints', () => {
    expect(encodePart(['a', 1, ['b']])).toBe('[a,1,[b]]')
    expect(encodePart(null)).toBe('_')
    expect(encodePart(undefined)).toBe('_')
    expect(encodePart(true)).toBe('true')
    expect(encodePart(12n)).toBe('12')
    expect(stableJson({ n: 1n })).toBe('{"n":"1n"}')
  })

  it('refuses non-finite numbers, functions and prefixes with braces', () => {
    expect(() => keys.build(Number.NaN)).toThrow(/finite/)
    expect(() => keys.build({ f: () => 1 })).toThrow(/plain data/)
    expect(() => new KeyBuilder('a{b}:')).toThrow(/must not contain/)
  })

  it('puts the tag in braces for Cluster slot selection', () => {
    expect(keys.tagged(['user', 42], 'sessions')).toBe('shop:prod:{[user,42]}:sessions')
    expect(keys.tagged('u{1}')).toBe('shop:prod:{u%7B1%7D}')
  })

  it('escapes glob metacharacters of user input in patterns', async () => {
    expect(escapeGlob('a*b?[c]\\')).toBe('a\\*b\\?\\[c\\]\\\\')
    const store = new MemoryStore()
    const users = keys.scope('user')
    for (const id of ['a*b', 'aXb', 'a*bc', 'zzz']) await store.set(users.build(id, 'profile'), '1')
    const found: string[] = []
    for await (const batch of store.scan({ match: users.pattern(['a*b']) })) found.push(...batch)
    expect(found).toEqual([users.build('a*b', 'profile')])
    const all: string[] = []
    for await (const batch of store.scan({ match: users.pattern() })) all.push(...batch)
    expect(all).toHaveLength(4)
    await store.close()
  })
})
