import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors.js'
import { type RevocationListOptions, resolveRevocationOptions } from './revocation-options.js'

describe('resolveRevocationOptions', () => {
  it('fills defaults', () => {
    expect(resolveRevocationOptions({})).toEqual({
      name: 'revoked',
      maxTokenLifetimeMs: 30 * 86_400_000,
      onUnavailable: 'deny',
      cache: { max: 10_000, ttlMs: 60_000 },
    })
    expect(resolveRevocationOptions({ cache: false }).cache).toBeUndefined()
  })

  it.each<RevocationListOptions>([
    { name: 'a b' },
    { maxTokenLifetime: 0 },
    { onUnavailable: 'open' as 'allow' },
    { cache: { ttl: 0 } },
    { cache: { max: 1.5 } },
    { extra: true } as RevocationListOptions,
  ])('rejects %o', (options) => {
    expect(() => resolveRevocationOptions(options)).toThrow(InvalidOptionsError)
  })

  it.each<[string, RevocationListOptions, string]>([
    [
      'a cache typo',
      { cache: { max: 5, ttll: '1m' } as never },
      "revocations: unknown option 'cache.ttll' (did you mean 'cache.ttl'?). Known options of cache: max, ttl.",
    ],
    [
      'a cache that is not an object',
      { cache: true as never },
      'revocations: cache must be false or an object',
    ],
    [
      'an unknown onUnavailable policy',
      { onUnavailable: 'open' as 'allow' },
      "revocations: onUnavailable must be one of 'deny', 'allow', got 'open'.",
    ],
    ['a top-level typo', { nmae: 'x' } as never, "revocations: unknown option 'nmae' (did you mean 'name'?)"],
  ])('refuses %s, naming the full path', (_label, options, message) => {
    expect(() => resolveRevocationOptions(options)).toThrow(InvalidOptionsError)
    expect(() => resolveRevocationOptions(options)).toThrow(message)
  })
})
