// The limiter suite on a single real redis-server; what only several instances can show (an unblock on
// one instance reaches the blocked cache of another); and what Redis itself can do to the stored state.

import { Redis } from 'ioredis'
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

describe('stored state on Redis', () => {
  it('survives the server losing its script cache, and replaces foreign or corrupt values', async () => {
    const server = await startRedis()
    const kit = createRedkit({ url: server.url, app: 'rl', environment: {} })
    const raw = new Redis(server.url)
    try {
      const limiter = kit.limiter('stored', { algorithm: 'fixed-window', limit: 3, window: '1h' })
      expect(await limiter.consume('a')).toMatchObject({ allowed: true, remaining: 2 })
      // SCRIPT FLUSH: the next call gets NOSCRIPT and sends the script again.
      await raw.script('FLUSH')
      expect(await limiter.consume('a')).toMatchObject({ allowed: true, remaining: 1 })

      const [key] = (await raw.scan('0', 'MATCH', '*ratelimit:stored:*', 'COUNT', 1000))[1]
      expect(key).toMatch(/\{a\}$/)
      // A value of the text layout of earlier versions, and bytes of no layout at all: read as empty.
      for (const foreign of ['1764100000000 2', Buffer.from([0xff, 0x00, 0x13])]) {
        await raw.set(key!, foreign, 'PX', 60_000)
        expect(await limiter.consume('a')).toMatchObject({ allowed: true, remaining: 2 })
        // The fixed window's state: two doubles.
        expect((await raw.getBuffer(key!))?.length).toBe(16)
        expect(await raw.pttl(key!)).toBeGreaterThan(3_500_000)
      }
      expect(await limiter.consume('a')).toMatchObject({ allowed: true, remaining: 1 })
      expect(await limiter.consume('a')).toMatchObject({ allowed: true, remaining: 0 })
      expect(await limiter.consume('a')).toMatchObject({ allowed: false, remaining: 0 })
    } finally {
      raw.disconnect()
      await kit.close()
      await server.stop()
    }
  })
})
