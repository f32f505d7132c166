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
})
