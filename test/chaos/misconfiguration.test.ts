// What a user sees on the mistakes and faults met first, against real redis-servers: a wrong or missing
// password, nothing listening, a database index the server does not have, Redis back after a crash,
// a hung server and a full one. Each asserts the error type, how long the caller waited, and that no
// credential appears anywhere the app could print it.

import { createClient } from '@redis/client'
import { afterAll, describe, expect, it } from 'vitest'
import {
  CommandTimeoutError,
  createRedkit,
  RedisAuthError,
  RedisDatabaseError,
  RedisUnavailableError,
  type Redkit,
} from '../../src/index.js'
import {
  collectingLogger,
  freePort,
  leaks,
  renderings,
  startRedis,
  stopAllServers,
  timed,
  waitFor,
} from '../harness/index.js'

afterAll(() => stopAllServers())

describe('wrong password', () => {
  const secret = 'wrong-Secret-pw-9f3a'

  it('is one typed error everywhere, degrades like an outage, opens the breaker, and never prints the password', async () => {
    const server = await startRedis({ password: 'the-real-password' })
    const logger = collectingLogger()
    const kit = createRedkit({
      url: `redis://:${secret}@127.0.0.1:${server.port}`,
      app: 'auth',
      logger,
      commandTimeout: 1000,
      breaker: { threshold: 3, cooldown: 60_000 },
    })
    const errors: unknown[] = []
    try {
      const ready = await timed(() => kit.ready())
      errors.push(ready.error)
      expect(ready.error).toBeInstanceOf(RedisAuthError)
      expect((ready.error as RedisAuthError).code).toBe('REDKIT_AUTH')
      expect(ready.error).toBeInstanceOf(RedisUnavailableError)
      // Refused at the handshake: known at once, not after a timeout.
      expect(ready.ms).toBeLessThan(500)

      const get = await timed(() => kit.store.get('auth:k'))
      errors.push(get.error)
      expect(get.error).toBeInstanceOf(RedisAuthError)

      const products = kit.cache<string>('products', { ttl: '1m' })
      const value = await products.getOrSet('p1', async () => 'from-factory', { tags: ['vendor:1'] })
      expect(value).toBe('from-factory')

      const limiter = kit.limiter('api', { limit: 5, window: '1m' })
      const decision = await limiter.consume('client-1')
      expect(decision.allowed).toBe(true)

      expect(kit.metrics().breaker.state).toBe('open')
      const open = await timed(() => kit.store.get('auth:k'))
      errors.push(open.error)
      expect(open.error).toBeInstanceOf(RedisUnavailableError)
      expect(open.ms).toBeLessThan(5)

      const health = await kit.health()
      expect(health.status).toBe('down')
      expect(health.reason).toMatch(/credentials/)
      const texts = [
        ...errors.flatMap(renderings),
        ...logger.records,
        JSON.stringify(health),
        ...renderings(kit),
      ]
      expect(leaks(texts, secret)).toEqual([])
    } finally {
      await kit.close()
      await server.stop()
    }
  })

  it('a server that wants a password none was given for is the same typed error', async () => {
    const server = await startRedis({ password: 'needed-password' })
    const kit = createRedkit({ url: `redis://127.0.0.1:${server.port}`, app: 'noauth' })
    try {
      await expect(kit.ready()).rejects.toBeInstanceOf(RedisAuthError)
      await expect(kit.store.set('noauth:k', 'v')).rejects.toMatchObject({ code: 'REDKIT_AUTH' })
    } finally {
      await kit.close()
      await server.stop()
    }
  })
})

describe('nothing listening', () => {
  it('fails at once with "refused" and where, never after a timeout, and the cache falls back at once', async () => {
    const port = await freePort()
    const secret = 'refused-Secret-77'
    const logger = collectingLogger()
    const kit = createRedkit({
      url: `redis://user:${secret}@127.0.0.1:${port}`,
      app: 'refused',
      logger,
      commandTimeout: 2000,
      breaker: { threshold: 1000 },
    })
    try {
      const first = await timed(() => kit.store.get('refused:k'))
      expect(first.error).toBeInstanceOf(RedisUnavailableError)
      expect(first.error).not.toBeInstanceOf(CommandTimeoutError)
      expect((first.error as Error).message).toMatch(/refused/)
      expect((first.error as Error).message).toContain(`127.0.0.1:${port}`)
      expect(first.ms).toBeLessThan(500)

      const later = await timed(() => kit.store.set('refused:k', 'v'))
      expect((later.error as Error).message).toMatch(/refused/)
      expect(later.ms).toBeLessThan(50)

      const cache = kit.cache<string>('c', { ttl: '1m' })
      const read = await timed(() => cache.getOrSet('k', async () => 'computed'))
      expect(read.value).toBe('computed')
      expect(read.ms).toBeLessThan(100)

      const texts = [...renderings(first.error), ...renderings(later.error), ...logger.records]
      expect(leaks(texts, secret)).toEqual([])
    } finally {
      await kit.close()
    }
  })
})

describe('a database index the server does not have', () => {
  it('fails ready() and every call with a clear error, and writes nothing to another database', async () => {
    const server = await startRedis()
    for (const kit of [
      createRedkit({ url: `${server.url}/16`, app: 'db' }),
      createRedkit({ url: server.url, db: 99, app: 'db' }),
    ]) {
      try {
        const ready = await timed(() => kit.ready())
        expect(ready.error).toBeInstanceOf(RedisDatabaseError)
        expect((ready.error as RedisDatabaseError).code).toBe('REDKIT_DATABASE')
        expect((ready.error as Error).message).toMatch(/database/)
        expect(ready.ms).toBeLessThan(500)
        await expect(kit.store.set('db:k', 'v')).rejects.toBeInstanceOf(RedisDatabaseError)
        expect((await kit.health()).status).toBe('down')
      } finally {
        await kit.close()
      }
    }
    expect(await server.cli('DBSIZE')).toBe('0')
    await server.stop()
  })
})

describe('Redis back after a crash', () => {
  it('closes the breaker as soon as the connection is ready again, not after the cooldown', async () => {
    const server = await startRedis()
    const kit: Redkit = createRedkit({
      url: server.url,
      app: 'back',
      commandTimeout: 500,
      breaker: { threshold: 2, cooldown: 60_000 },
    })
    try {
      await kit.store.set('back:k', 'v')
      await server.kill9()
      for (let i = 0; i < 3; i++) await kit.store.get('back:k').catch(() => {})
      expect(kit.metrics().breaker.state).toBe('open')
      await server.restart()
      const started = performance.now()
      await waitFor(() => kit.metrics().breaker.state === 'closed', {
        timeoutMs: 5000,
        message: 'the breaker waited for its cooldown although Redis was back',
      })
      expect(performance.now() - started).toBeLessThan(5000)
      await kit.store.set('back:k', 'again')
      expect(await kit.store.get('back:k')).toBe('again')
      expect((await kit.health()).status).toBe('healthy')
    } finally {
      await kit.close()
      await server.stop()
    }
  })
})

describe('a hung server', () => {
  it('getOrSet answers with the factory value within one commandTimeout', async () => {
    const server = await startRedis()
    const kit = createRedkit({
      url: server.url,
      app: 'hung',
      commandTimeout: 400,
      breaker: { threshold: 100 },
    })
    try {
      const cache = kit.cache<string>('c', { ttl: '1m' })
      await kit.ready()
      server.pause()
      const read = await timed(() => cache.getOrSet('k', async () => 'computed'))
      expect(read.value).toBe('computed')
      expect(read.ms).toBeLessThan(400 * 1.1 + 150)
    } finally {
      server.resume()
      await kit.close()
      await server.stop()
    }
  })
})

describe('a hung server behind per-command deadlines (an app client)', () => {
  it('getOrSet, tagged or not, answers with the factory value within one commandTimeout', async () => {
    const server = await startRedis()
    const client = createClient({ url: server.url })
    await client.connect()
    const kit = createRedkit({ client, app: 'hungown', commandTimeout: 400, breaker: { threshold: 100 } })
    try {
      const cache = kit.cache<string>('c', { ttl: '1m' })
      await kit.ready()
      server.pause()
      const [plain, tagged] = await Promise.all([
        timed(() => cache.getOrSet('k', async () => 'computed')),
        timed(() => cache.getOrSet('t', async () => 'tagged', { tags: ['vendor:1'] })),
      ])
      expect(plain.value).toBe('computed')
      expect(tagged.value).toBe('tagged')
      for (const read of [plain, tagged]) expect(read.ms).toBeLessThan(400 * 1.1 + 150)
    } finally {
      server.resume()
      await kit.close()
      client.destroy()
      await server.stop()
    }
  })
})

describe('a full server (maxmemory, noeviction)', () => {
  it('reads through, returns what the factory made, counts the refused write, and reports degraded', async () => {
    const server = await startRedis({ args: ['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction'] })
    const logger = collectingLogger()
    const kit = createRedkit({ url: server.url, app: 'full', logger })
    try {
      const cache = kit.cache<string>('c', { ttl: '1m' })
      await cache.set('before', 'stored-before-full')
      // Fill the server until it refuses writes.
      const filler = 'x'.repeat(10_000)
      for (let i = 0; i < 1000; i++) {
        const ok = await kit.store.set(`full:fill:${i}`, filler).then(
          () => true,
          () => false,
        )
        if (!ok) break
      }
      await expect(kit.store.set('full:more', filler)).rejects.toMatchObject({ code: 'REDKIT_OOM' })

      expect(await cache.get('before')).toBe('stored-before-full')
      const value = await cache.getOrSet('new', async () => 'made-while-full')
      expect(value).toBe('made-while-full')
      await expect(cache.set('explicit', 'v')).resolves.toBeUndefined()
      const tagged = await cache.getOrSet('tagged', async () => 'tagged-while-full', { tags: ['t1'] })
      expect(tagged).toBe('tagged-while-full')
      expect(await cache.get('before')).toBe('stored-before-full')
      const metrics = kit.metrics() as unknown as { cache: { c: { refusedWrites: number } } }
      expect(metrics.cache.c.refusedWrites).toBeGreaterThanOrEqual(2)
      // One warning per interval, not one per refused write.
      expect(logger.records.filter((line) => line.includes('out of memory')).length).toBeLessThanOrEqual(2)

      const limiter = kit.limiter('api', { limit: 3, window: '1m' })
      const decision = await limiter.consume('ip-1')
      expect(decision.allowed).toBe(true)

      const health = await kit.health()
      expect(health.status).toBe('degraded')
      expect(health.reason).toMatch(/memory/)
    } finally {
      await kit.close()
      await server.stop()
    }
  })
})
