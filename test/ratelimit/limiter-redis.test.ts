// The limiter suite on a single real redis-server, and what only several instances can show: an unblock
// on one instance reaches the blocked cache of another.

import { describe, expect, it } from 'vitest'
import { createRedkit } from '../../src/index.js'
import { startRedis, waitFor } from '../harness/index.js'
import { limiterSuite } from './limiter-suite.js'

limiterSuite('a single redis-server', async () => {
  const server = await startRedis()
  const kit = createRedkit({ url: server.url, app: 'rl', environment: {} })
  return {
    kit,
    async teardown() {
      await kit.close()
      await server.stop()
    },
  }
})

describe('two instances', () => {
  it('reset and block(key, 0) on one instance clear the blocked cache of the other', async () => {
    const server = await startRedis()
    const one = createRedkit({ url: server.url, app: 'rl', environment: {} })
    const two = createRedkit({ url: server.url, app: 'rl', environment: {} })
    try {
      const options = { limit: 1, window: '1h', blockFor: '1h' } as const
      const a = one.limiter('shared', options)
      const b = two.limiter('shared', options)
      await a.consume('k')
      expect(await a.consume('k')).toMatchObject({ blocked: true })
      // b learns about the block with a round trip, then answers from memory.
      expect(await b.consume('k')).toMatchObject({ blocked: true })
      await waitFor(async () => {
        const calls = b.metrics().storeCalls
        return (await b.consume('k')).blocked && b.metrics().storeCalls === calls
      })

      await a.reset('k')
      await waitFor(async () => (await b.consume('k')).allowed, { message: 'reset never reached b' })

      expect(await b.consume('k')).toMatchObject({ blocked: true })
      await waitFor(async () => {
        const calls = a.metrics().storeCalls
        return (await a.consume('k')).blocked && a.metrics().storeCalls === calls
      })
      // Lifted on b: a's next consume asks Redis again (and, still over the limit, gets a new block).
      await b.block('k', 0)
      await waitFor(
        async () => {
          const before = a.metrics().storeCalls
          await a.consume('k')
          return a.metrics().storeCalls > before
        },
        { message: 'unblock never reached a' },
      )
    } finally {
      await one.close()
      await two.close()
      await server.stop()
    }
  })
})
