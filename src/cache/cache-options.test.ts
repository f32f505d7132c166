import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors.js'
import { type CacheOptions, checkCallOptions, resolveCacheOptions } from './cache-options.js'

describe('resolveCacheOptions', () => {
  it.each<[string, CacheOptions, string]>([
    [
      'an l1 typo',
      { l1: { maxx: 10 } as never },
      "cache 'c': unknown option 'l1.maxx' (did you mean 'l1.max'?). Known options of l1: max, maxBytes, ttl.",
    ],
    [
      'a lock typo',
      { lock: { wiat: '1s' } as never },
      "cache 'c': unknown option 'lock.wiat' (did you mean 'lock.wait'?). Known options of lock: wait, ttl.",
    ],
    ['a top-level typo', { swrr: '1m' } as never, "cache 'c': unknown option 'swrr' (did you mean 'swr'?)"],
    [
      'an unknown compression',
      { compression: 'zip' as never },
      "cache 'c': compression must be one of 'gzip', 'brotli', false, got 'zip'.",
    ],
    [
      'an unknown tier',
      { tier: 'hot' as never },
      "cache 'c': tier must be one of 'reference', 'userContext', 'list', 'detail', 'analytics', got 'hot'.",
    ],
    ['an l1 that is not an object', { l1: true as never }, "cache 'c': l1 must be false or an object"],
    [
      'a lock that is not an object',
      { lock: 'yes' as never },
      "cache 'c': lock must be true, false or an object",
    ],
  ])('refuses %s', (_label, options, message) => {
    expect(() => resolveCacheOptions('c', options)).toThrow(InvalidOptionsError)
    expect(() => resolveCacheOptions('c', options)).toThrow(message)
  })

  it('accepts every documented nested option', () => {
    const resolved = resolveCacheOptions('c', {
      ttl: '10m',
      l1: { max: 10, maxBytes: 1000, ttl: '1m' },
      lock: { wait: '1s', ttl: '5s' },
    })
    expect(resolved.l1).toEqual({ max: 10, maxBytes: 1000, ttlMs: 60_000 })
    expect(resolved.lock).toEqual({ waitMs: 1000, ttlMs: 5000 })
  })
})

describe('checkCallOptions', () => {
  it.each<['set' | 'getOrSet' | 'warm', unknown, string]>([
    [
      'set',
      { ttll: '1m' },
      "cache 'c' set: unknown option 'ttll' (did you mean 'ttl'?). Known options: ttl, tags.",
    ],
    ['getOrSet', { tag: ['a'] }, "cache 'c' getOrSet: unknown option 'tag' (did you mean 'tags'?)"],
    ['warm', { concurency: 2 }, "cache 'c' warm: unknown option 'concurency' (did you mean 'concurrency'?)"],
    ['set', 'ttl', "cache 'c' set: options must be an object"],
  ])('refuses %s options %j', (call, options, message) => {
    expect(() => checkCallOptions('c', call, options)).toThrow(message)
  })

  it('accepts undefined and known options', () => {
    expect(() => checkCallOptions('c', 'set', undefined)).not.toThrow()
    expect(() => checkCallOptions('c', 'getOrSet', { ttl: 1, tags: [], cacheNullish: true })).not.toThrow()
  })
})
