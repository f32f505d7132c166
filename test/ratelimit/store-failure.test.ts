// Redis killed with -9: the insurance limiter applies the limits (logged and counted, never silently);
// Redis back: decisions go to Redis again. Also the 'allow' and 'deny' policies while the breaker is open.

import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit, type Logger, type Redkit } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'

afterAll(() => stopAllServers())

interface Logged {
  level: string
  message: string
  fields: Record<string, unknown>
}

function recordingLogger(): { logger: Logger; lines: Logged[] } {
  const lines: Logged[] = []
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, message, fields })
    }
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines }
}

async function kitOn(server: RedisServer, logger: Logger): Promise<Redkit> {
  const kit = createRedkit({
    url: server.url,
    app: 'failure',
    environment: {},
    logger,
    commandTimeout: 300,
    breaker: { threshold: 2, cooldown: 200 },
  })
  await kit.ready()
  return kit
}

describe('Redis killed and restarted', () => {
  it('insurance limits while Redis is down, Redis limits again once it is back', async () => {
    const server = await startRedis()
    const { logger, lines } = recordingLogger()
    const kit = await kitOn(server, logger)
    try {
      const limiter = kit.limiter('login', {
        algorithm: 'fixed-window',
        limit: 5,
        window: '1h',
        instances: 1,
      })
      expect((await limiter.consume('k')).allowed).toBe(true)
      expect(await server.cli('DBSIZE')).toBe('1')

      await server.kill9()
      const during = []
      for (let i = 0; i < 8; i++) during.push(await limiter.consume('k'))
      // The insurance limiter starts from nothing: 5 pass, the rest are limited, none throws.
      expect(during.filter((r) => r.allowed)).toHaveLength(5)
      expect(during.slice(5).every((r) => !r.allowed && r.retryAfterMs > 0)).toBe(true)
      const down = limiter.metrics()
      expect(down.insuranceDecisions).toBe(8)
      expect(down.storeErrors).toBeGreaterThanOrEqual(1)
      expect(kit.metrics().ratelimit).toMatchObject({ login: { insuranceDecisions: 8 } })
      const warnings = lines.filter((line) => line.level === 'warn' && line.message.includes('insurance'))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]!.fields).toMatchObject({ limiter: 'login', policy: 'insurance' })

      await server.restart()
      // Once the breaker lets a probe through, decisions come from Redis again.
      await waitFor(
        async () => {
          const before = limiter.metrics().insuranceDecisions
          await limiter.consume('probe')
          return limiter.metrics().insuranceDecisions === before
        },
        { timeoutMs: 10_000, message: 'limiter never went back to Redis' },
      )
      expect(lines.some((line) => line.level === 'info' && line.message.includes('on Redis again'))).toBe(
        true,
      )
      const settled = limiter.metrics().insuranceDecisions
      // The restarted server kept nothing: the limits Redis applies now start afresh, and live in Redis.
      const after = []
      for (let i = 0; i < 7; i++) after.push((await limiter.consume('k')).allowed)
      expect(after).toEqual([true, true, true, true, true, false, false])
      expect(Number(await server.cli('DBSIZE'))).toBeGreaterThanOrEqual(1)
      expect(limiter.metrics().insuranceDecisions).toBe(settled)
    } finally {
      await kit.close()
      await server.stop()
    }
  })

  it('the insurance limit is divided by the expected number of instances', async () => {
    const server = await startRedis()
    const kit = await kitOn(server, recordingLogger().logger)
    try {
      const limiter = kit.limiter('api', { limit: 10, window: '1h', instances: 4 })
      await server.kill9()
      const results = []
      for (let i = 0; i < 6; i++) results.push(await limiter.consume('k'))
      expect(results.filter((r) => r.allowed)).toHaveLength(3)
      expect(results[0]!.limit).toBe(3)
    } finally {
      await kit.close()
      await server.stop()
    }
  })

  it("'allow' fails open and 'deny' fails closed, both logged and counted", async () => {
    const server = await startRedis()
    const { logger, lines } = recordingLogger()
    const kit = await kitOn(server, logger)
    try {
      const open = kit.limiter('open', { limit: 1, window: '1h', onStoreError: 'allow' })
      const closed = kit.limiter('closed', { limit: 1, window: '1h', onStoreError: 'deny' })
      await server.kill9()
      for (let i = 0; i < 3; i++) {
        expect((await open.consume('k')).allowed).toBe(true)
        expect((await closed.consume('k')).allowed).toBe(false)
      }
      expect(open.metrics().failOpen).toBe(3)
      expect(closed.metrics().failClosed).toBe(3)
      expect(lines.some((line) => line.level === 'warn' && line.message.includes('fails open'))).toBe(true)
      expect(lines.some((line) => line.level === 'warn' && line.message.includes('denies'))).toBe(true)
      // Admin calls do not pretend: they reject while Redis is down.
      await expect(open.reset('k')).rejects.toThrow(/unavailable|breaker|timed out|Redis/i)
    } finally {
      await kit.close()
      await server.stop()
    }
  })

  it('a limiter made while Redis is down decides by insurance, and the kit still closes promptly', async () => {
    const server = await startRedis()
    await server.kill9()
    const kit = createRedkit({
      url: server.url,
      app: 'failure',
      environment: {},
      logger: recordingLogger().logger,
      commandTimeout: 300,
      breaker: { threshold: 1, cooldown: 60_000 },
    })
    const limiter = kit.limiter('early', { limit: 2, window: '1h', blockFor: '1h' })
    const results = []
    for (let i = 0; i < 4; i++) results.push(await limiter.consume('k'))
    expect(results.map((r) => r.allowed)).toEqual([true, true, false, false])
    expect(results[2]!.blocked).toBe(true)
    const started = performance.now()
    await kit.close()
    expect(performance.now() - started).toBeLessThan(3000)
    await server.stop()
  })
})
