import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors.js'
import {
  checkSessionCallOptions,
  resolveSessionOptions,
  type SessionStoreOptions,
} from './session-options.js'

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

  it.each<[string, SessionStoreOptions, string]>([
    [
      'an encryption typo',
      { encryption: { keys: ['k'.repeat(32)], key: 'x' } as never },
      "sessions: unknown option 'encryption.key' (did you mean 'encryption.keys'?). Known options of encryption: keys.",
    ],
    [
      'encryption that is not an object',
      { encryption: 'k' as never },
      'sessions: encryption must be an object',
    ],
    [
      'an unknown unavailable policy',
      { unavailable: 'ignore' as 'skip' },
      "sessions: unavailable must be one of 'error', 'skip', got 'ignore'.",
    ],
    [
      'a top-level typo',
      { disableTtl: true } as never,
      "sessions: unknown option 'disableTtl' (did you mean 'disableTTL'?)",
    ],
  ])('refuses %s, naming the full path', (_label, options, message) => {
    expect(() => resolveSessionOptions({ secret, ...options }, 'redis')).toThrow(InvalidOptionsError)
    expect(() => resolveSessionOptions({ secret, ...options }, 'redis')).toThrow(message)
  })
})

describe('checkSessionCallOptions', () => {
  it.each<['destroyByUserId' | 'listByUserId', unknown, string]>([
    [
      'destroyByUserId',
      { expect: 'sid' },
      "sessions destroyByUserId: unknown option 'expect' (did you mean 'except'?). Known options: except.",
    ],
    [
      'listByUserId',
      { currnet: 'sid' },
      "sessions listByUserId: unknown option 'currnet' (did you mean 'current'?)",
    ],
    ['listByUserId', 'sid', 'sessions listByUserId: options must be an object'],
  ])('refuses %s options %j', (call, options, message) => {
    expect(() => checkSessionCallOptions(call, options)).toThrow(message)
  })

  it('accepts the documented options', () => {
    expect(() => checkSessionCallOptions('destroyByUserId', { except: 'sid' })).not.toThrow()
    expect(() => checkSessionCallOptions('listByUserId', {})).not.toThrow()
  })
})
