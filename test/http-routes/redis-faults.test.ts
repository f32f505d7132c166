// Readiness through Redis faults over real HTTP, on Express and Fastify: kill -9 then restart, SIGSTOP
// (a hung server) then SIGCONT, and requireRedis: false. Every answer comes within the command timeout.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import type { CacheBody, LiveBody, ReadyBody, RedisBody } from '../../src/integrations/express/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'
import { closeAllApps, type Framework, getJson, serve } from './serve.js'

const COMMAND_TIMEOUT = 500
/** What an answer may take beyond the command timeout: HTTP, JSON, a loaded machine. */
const SLACK = 350

afterAll(async () => {
  await closeAllApps()
  await stopAllServers()
})

describe.each<Framework>(['express', 'fastify'])('%s readiness through Redis faults', (framework) => {
  let server: RedisServer
  let kit: Redkit
  let url: string
  let lenient: string

  beforeAll(async () => {
    server = await startRedis()
    kit = createRedkit({
      url: server.url,
      app: 'faults',
      environment: {},
      commandTimeout: COMMAND_TIMEOUT,
      breaker: { threshold: 3, cooldown: 300 },
    })
    url = (await serve(framework, kit)).url
    lenient = (await serve(framework, kit, { health: { base: '/lenient', requireRedis: false } })).url
  })
  afterAll(async () => {
    await kit.close()
    await server.stop()
  })

  it('ready is 503 within the command timeout after kill -9, and 200 again after restart', async () => {
    expect((await getJson<ReadyBody>(url, '/health/ready')).status).toBe(200)
    await server.kill9()

    const down = await getJson<ReadyBody>(url, '/health/ready')
    expect(down.status).toBe(503)
    expect(down.ms).toBeLessThan(COMMAND_TIMEOUT + SLACK)
    expect(down.body.status).toBe('not_ready')
    expect(down.body.reason).toMatch(/^Redis is down: /)
    expect(down.body.redis).toMatchObject({ status: 'down', required: true })

    const redis = await getJson<RedisBody>(url, '/health/redis')
    expect(redis.status).toBe(503)
    expect(redis.ms).toBeLessThan(COMMAND_TIMEOUT + SLACK)
    expect(redis.body.status).toBe('down')
    expect(redis.body.roles.command?.status).toBe('down')
    expect(redis.body.roles.command?.error).toBeTypeOf('string')

    // Failed probes count for the breaker; once open, caches are in fallback and /cache says so.
    await waitFor(
      async () => {
        await getJson(url, '/health/ready')
        return (await getJson<CacheBody>(url, '/health/cache')).body.fallback
      },
      { timeoutMs: 5000, message: 'breaker never opened' },
    )
    const cache = await getJson<CacheBody>(url, '/health/cache')
    expect(cache.status).toBe(200)
    expect(cache.body.breaker).not.toBe('closed')
    // An open breaker answers at once: no socket wait at all.
    const fast = await getJson<ReadyBody>(url, '/health/ready')
    expect(fast.status).toBe(503)
    expect(fast.ms).toBeLessThan(COMMAND_TIMEOUT)

    const live = await getJson<LiveBody>(url, '/health/live')
    expect(live.status).toBe(200)
    const lenientReady = await getJson<ReadyBody>(lenient, '/lenient/ready')
    expect(lenientReady.status).toBe(200)
    expect(lenientReady.body).toMatchObject({ status: 'ready', redis: { status: 'down', required: false } })

    await server.restart()
    const back = await waitFor(
      async () => {
        const ready = await getJson<ReadyBody>(url, '/health/ready')
        return ready.status === 200 ? ready : undefined
      },
      { timeoutMs: 10_000, message: 'ready never came back after restart' },
    )
    // Commands work again; the subscriber may still be reconnecting (degraded), which is ready too.
    expect(back!.body.status).toBe('ready')
    expect(back!.body.redis?.status).toMatch(/^(healthy|degraded)$/)
    await waitFor(async () => (await getJson<RedisBody>(url, '/health/redis')).body.status === 'healthy', {
      timeoutMs: 10_000,
      message: 'health never came back to healthy after restart',
    })
    await waitFor(async () => (await getJson<CacheBody>(url, '/health/cache')).body.fallback === false, {
      message: 'caches stayed in fallback after the breaker closed',
    })
  })

  it('the timeout option bounds the wait below a long command timeout', async () => {
    const patient = createRedkit({ url: server.url, app: 'faults', environment: {}, commandTimeout: 2000 })
    const quick = (await serve(framework, patient, { health: { base: '/quick', timeout: '300ms' } })).url
    expect((await getJson(quick, '/quick/ready')).status).toBe(200)
    server.pause()
    try {
      const ready = await getJson<ReadyBody>(quick, '/quick/ready')
      expect(ready.status).toBe(503)
      // kit.health() alone would take the whole 2 s command timeout here.
      expect(ready.ms).toBeLessThan(300 + SLACK)
      expect(ready.ms).toBeGreaterThanOrEqual(290)
      expect(ready.body.redis).toMatchObject({ status: 'down', reason: 'Redis did not answer within 300 ms' })
      const redis = await getJson<RedisBody>(quick, '/quick/redis')
      expect(redis.status).toBe(503)
      expect(redis.ms).toBeLessThan(300 + SLACK)
    } finally {
      server.resume()
    }
    await waitFor(async () => (await getJson(quick, '/quick/ready')).status === 200, {
      timeoutMs: 10_000,
      message: 'ready never came back after SIGCONT',
    })
    await patient.close()
  })

  it('a hung (SIGSTOPped) Redis reads as not ready within the command timeout, for every caller', async () => {
    expect((await getJson(url, '/health/ready')).status).toBe(200)
    server.pause()
    try {
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => getJson<ReadyBody>(url, '/health/ready')),
      )
      for (const answer of answers) {
        expect(answer.status).toBe(503)
        expect(answer.body.redis?.status).toBe('down')
        expect(answer.ms).toBeLessThan(COMMAND_TIMEOUT + SLACK)
      }
      const redis = await getJson<RedisBody>(url, '/health/redis')
      expect(redis.status).toBe(503)
      expect(redis.ms).toBeLessThan(COMMAND_TIMEOUT + SLACK)
      const lenientReady = await getJson<ReadyBody>(lenient, '/lenient/ready')
      expect(lenientReady.status).toBe(200)
      expect(lenientReady.ms).toBeLessThan(COMMAND_TIMEOUT + SLACK)
      // Liveness never waits for Redis.
      const live = await getJson(url, '/health/live')
      expect(live.status).toBe(200)
      expect(live.ms).toBeLessThan(SLACK)
    } finally {
      server.resume()
    }
    await waitFor(async () => (await getJson(url, '/health/ready')).status === 200, {
      timeoutMs: 10_000,
      message: 'ready never came back after SIGCONT',
    })
  })
})
