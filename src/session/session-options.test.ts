import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors.js'
import { resolveSessionOptions, type SessionStoreOptions } from './session-options.js'

const secret = 'x'.repeat(32)

describe('resolveSessionOptions', () => {
  it('fills defaults', () => {
    const resolved = resolveSessionOptions({ secret }, 'redis')
    expect(resolved.prefix).toBe('sess')
    expect(resolved.ttl({})).toBe(86_400_000)
    expect(resolved.userIdOf({ userId: 5 })).toBe('5')
    expect(resolved.userIdOf({ userId: { nested: true } })).toBeUndefined()
    expect(resolved.unavailable).toBe('error')
  })

  it('needs a secret with Redis unless hashIds is off; makes one in memory mode', () => {
    expect(() => resolveSessionOptions({}, 'redis')).toThrow(/secret/)
    expect(() => resolveSessionOptions({}, 'cluster')).toThrow(InvalidOptionsError)
    expect(resolveSessionOptions({}, 'memory').secret).toBeInstanceOf(Buffer)
    expect(resolveSessionOptions({ hashIds: false }, 'redis').secret).toBeUndefined()
    expect(() => resolveSessionOptions({ hashIds: false, secret }, 'redis')).toThrow(InvalidOptionsError)
  })

  it.each<[string, SessionStoreOptions]>([
    ['unknown option', { colour: 'red' } as SessionStoreOptions],
    ['bad prefix', { prefix: 'a:b' }],
    ['zero ttl', { ttl: 0 }],
    ['bad ttl', { ttl: 'forever' }],
    ['bad unavailable', { unavailable: 'ignore' as 'skip' }],
    ['bad scanCount', { scanCount: 0 }],
    ['empty keys', { encryption: { keys: [] } }],
    ['bad serializer', { serializer: { stringify: JSON.stringify } as never }],
    ['bad userIdOf', { userIdOf: 'userId' as never }],
  ])('rejects %s', (_, options) => {
    expect(() => resolveSessionOptions({ secret, ...options }, 'redis')).toThrow(InvalidOptionsError)
  })
})
