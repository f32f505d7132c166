// The cache suite on a single real redis-server, plus what only a real server can show: garbage
// written with redis-cli, and behaviour while Redis is down (killed) or hung.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Logger, RedisUnavailableError } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'
import { cacheSuite } from './cache-suite.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => stopAllServers())

cacheSuite('RedisStore (single node)', async () => {
  const kit = createRedkit({ url: server.url, app: 'cachetest' })
  return { kit, teardown: () => kit.close() }
})

describe('cache against redis-cli and faults', () => {
  it('garbage written with redis-cli makes the next getOrSet call the factory', async () => {
    const kit = createRedkit({ url: server.url, app: 'garbage' })
    const cache = kit.cache('g')
    await cache.set('k', 'cached')
    await server.cli('SET', cache.keyOf('k'), '\x01\x02 definitely not ours')
    expect(await cache.getOrSet('k', () => 'rebuilt')).toBe('rebuilt')
    expect(await cache.get('k')).toBe('rebuilt')
    await server.cli('HSET', cache.keyOf('h'), 'field', 'value')
    expect(await cache.getOrSet('h', () => 'rebuilt too')).toBe('rebuilt too')
    await kit.close()
  })

  it('while Redis is down: get misses, getOrSet calls the factory, set/delete resolve and count; strict throws', async () => {
    const down = await startRedis()
    const warnings: string[] = []
    const noop = () => {}
    const logger: Logger = {
      debug: noop,
      info: noop,
      error: noop,
      warn: (_f, message) => warnings.push(message),
    }
    const kit = createRedkit({
      url: down.url,
      app: 'down',
      logger,
      commandTimeout: 500,
      breaker: { threshold: 2, cooldown: '1m' },
    })
    const cache = kit.cache('c')
    const strict = kit.cache('s', { strict: true })
    await cache.set('k', 'before')
    await down.kill9()

    const timings: number[] = []
    const time = async <T>(fn: () => Promise<T>): Promise<T> => {
      const started = performance.now()
      try {
        return await fn()
      } finally {
        timings.push(performance.now() - started)
      }
    }
    expect(await time(() => cache.get('k'))).toBeUndefined()
    expect(await time(() => cache.getOrSet('k', () => 'from factory'))).toBe('from factory')
    await expect(time(() => cache.set('k', 'v'))).resolves.toBeUndefined()
    await expect(time(() => cache.delete('k'))).resolves.toBe(false)
    await expect(time(() => cache.setMany([{ key: 'a', value: 1 }]))).resolves.toBeUndefined()
    expect(await time(() => cache.getMany(['a', 'b']))).toEqual([undefined, undefined])
    expect(await time(() => cache.deletePattern('*'))).toBe(0)
    await expect(time(() => strict.get('k'))).rejects.toBeInstanceOf(RedisUnavailableError)
    await expect(time(() => strict.set('k', 1))).rejects.toBeInstanceOf(RedisUnavailableError)
    await expect(time(() => strict.getOrSet('k', () => 1))).rejects.toBeInstanceOf(RedisUnavailableError)
    for (const ms of timings) expect(ms).toBeLessThan(700)

    const metrics = (kit.metrics().cache as Record<string, { errors: number }>).c!
    expect(metrics.errors).toBeGreaterThanOrEqual(7)
    expect(warnings).toContain('redkit: cache write skipped, Redis unavailable')
    await kit.close()
    await down.stop()
  })

  it('many caches with L1 share one breaker listener: no listener-leak warning', async () => {
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(warning.name)
    process.on('warning', onWarning)
    const kit = createRedkit({ url: server.url, app: 'listeners', environment: {} })
    try {
      for (let i = 0; i < 30; i++) kit.cache(`c${i}`, { ttl: '1m', l1: { max: 10 } })
      await new Promise((resolve) => setImmediate(resolve))
      expect(kit.listenerCount('breakerStateChange')).toBe(1)
      expect(warnings).not.toContain('MaxListenersExceededWarning')
    } finally {
      process.off('warning', onWarning)
      await kit.close()
    }
  })

  it('replays deletes made while Redis was down, so the old value is not served after it is back', async () => {
    const down = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
    const kit = createRedkit({ url: down.url, app: 'replay', commandTimeout: 500, environment: {} })
    const other = createRedkit({ url: down.url, app: 'replay', commandTimeout: 500, environment: {} })
    try {
      const cache = kit.cache('c', { ttl: '1h', l1: { max: 100 } })
      const elsewhere = other.cache('c', { ttl: '1h', l1: { max: 100 } })
      await cache.set('product:1', 'old price')
      await cache.set('product:2', 'old price')
      expect(await elsewhere.get('product:1')).toBe('old price')
      await down.kill9()
      // The write's delete cannot reach Redis: it resolves, and the delete is owed.
      expect(await cache.delete('product:1')).toBe(false)
      expect(await cache.deleteMany(['product:2'])).toBe(0)
      const owed = (kit.metrics().cache as Record<string, { pendingDeletes: number }>).c!
      expect(owed.pendingDeletes).toBe(2)
      await down.restart()
      // The AOF brought the old entries back; the replay removes them, and this process never reads them.
      expect(await cache.get('product:1')).toBeUndefined()
      await waitFor(
        async () => (await down.cli('EXISTS', cache.keyOf('product:1'), cache.keyOf('product:2'))) === '0',
        {
          timeoutMs: 5000,
          message: 'the owed deletes were not replayed',
        },
      )
      expect(await elsewhere.get('product:1')).toBeUndefined()
      expect(await elsewhere.get('product:2')).toBeUndefined()
      const after = (kit.metrics().cache as Record<string, { pendingDeletes: number }>).c!
      expect(after.pendingDeletes).toBe(0)
    } finally {
      await Promise.all([kit.close(), other.close()])
    }
  })

  it('a hung Redis (SIGSTOP) costs getOrSet no more than the command timeout', async () => {
    const hung = await startRedis()
    const kit = createRedkit({ url: hung.url, app: 'hung', commandTimeout: 300, breaker: { threshold: 100 } })
    const cache = kit.cache('c')
    await cache.set('k', 'v')
    hung.pause()
    try {
      const started = performance.now()
      expect(await cache.getOrSet('other', () => 'factory')).toBe('factory')
      expect(performance.now() - started).toBeLessThan(1000)
    } finally {
      hung.resume()
    }
    await kit.close()
    await hung.stop()
  })
})
