// The limiter suite on the embedded store: the reference the Redis runs are compared with.

import { describe, expect, it } from 'vitest'
import { createRedkit, InvalidOptionsError } from '../../src/index.js'
import { limiterSuite } from './limiter-suite.js'

limiterSuite('the embedded store', async () => {
  const kit = createRedkit({ url: 'memory', app: 'rl', environment: {} })
  return { kit, teardown: () => kit.close() }
})

describe('kit.limiter', () => {
  it('gives the same instance for the same name and options, and refuses other options under that name', async () => {
    const kit = createRedkit({ url: 'memory', app: 'rl', environment: {} })
    try {
      const api = kit.limiter('api', { limit: 10, window: '1m' })
      expect(kit.limiter('api', { limit: 10, window: 60_000 })).toBe(api)
      expect(() => kit.limiter('api', { limit: 11, window: '1m' })).toThrow(InvalidOptionsError)
      expect(() => kit.limiter('bad', { limit: -1, window: '1m' })).toThrow(InvalidOptionsError)
      await api.consume('k')
      expect(kit.metrics().ratelimit).toMatchObject({ api: { allowed: 1, rejected: 0 } })
      await expect(api.consume('k', 11)).rejects.toThrow(InvalidOptionsError)
      await expect(api.consume('')).rejects.toThrow(InvalidOptionsError)
    } finally {
      await kit.close()
    }
  })
})
