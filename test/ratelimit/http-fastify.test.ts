// The Fastify hook and plugin over real HTTP: RateLimit headers, 429 JSON body and Retry-After, keys
// that ignore a spoofed X-Forwarded-For unless trustProxy is set, IPv6 /64 grouping, route opt-out.

import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type RateLimiterOptions, type Redkit } from '../../src/index.js'
import { rateLimit, rateLimitPlugin } from '../../src/integrations/fastify/index.js'

let kit: Redkit
let counter = 0
const apps: FastifyInstance[] = []

beforeAll(() => {
  kit = createRedkit({ url: 'memory', app: 'http', environment: {} })
})
afterAll(async () => {
  for (const app of apps.splice(0)) await app.close()
  await kit.close()
})

function limiter(options: RateLimiterOptions = { algorithm: 'fixed-window', limit: 2, window: '1m' }) {
  counter++
  return kit.limiter(`fastify-${counter}`, options)
}

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app)
  return app.listen({ port: 0, host: '127.0.0.1' })
}

describe('Fastify rateLimit', () => {
  it('sends the draft-8 RateLimit headers, then 429 with Retry-After and a JSON body', async () => {
    const app = Fastify()
    app.get(
      '/x',
      { onRequest: rateLimit(limiter(), { policyName: 'api', legacyHeaders: true }) },
      async () => ({
        ok: true,
      }),
    )
    const base = await listen(app)
    const first = await fetch(`${base}/x`)
    expect(first.status).toBe(200)
    expect(await first.json()).toEqual({ ok: true })
    expect(first.headers.get('ratelimit-policy')).toBe('"api";q=2;w=60')
    expect(first.headers.get('ratelimit')).toMatch(/^"api";r=1;t=(59|60)$/)
    expect(first.headers.get('x-ratelimit-limit')).toBe('2')
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1')
    await fetch(`${base}/x`)
    const limited = await fetch(`${base}/x`)
    expect(limited.status).toBe(429)
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(59)
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0')
    expect(await limited.json()).toEqual({
      error: 'too_many_requests',
      message: `Too many requests; retry in ${retryAfter} s.`,
      retryAfter,
      limit: 2,
      blocked: false,
    })
  })

  it('ignores a spoofed X-Forwarded-For without trustProxy', async () => {
    const app = Fastify()
    app.get('/x', { onRequest: rateLimit(limiter()) }, async () => 'ok')
    const base = await listen(app)
    const statuses: number[] = []
    for (const spoofed of ['1.1.1.1', '2.2.2.2', '3.3.3.3']) {
      statuses.push((await fetch(`${base}/x`, { headers: { 'x-forwarded-for': spoofed } })).status)
    }
    expect(statuses).toEqual([200, 200, 429])
  })

  it('with trustProxy, groups IPv6 clients by /64', async () => {
    const app = Fastify({ trustProxy: true })
    app.get('/x', { onRequest: rateLimit(limiter()) }, async () => 'ok')
    const base = await listen(app)
    const status = async (ip: string) =>
      (await fetch(`${base}/x`, { headers: { 'x-forwarded-for': ip } })).status
    expect(await status('2001:db8:aa:bb::1')).toBe(200)
    expect(await status('2001:db8:aa:bb:1::1')).toBe(200)
    expect(await status('2001:db8:aa:bb::ffff')).toBe(429)
    expect(await status('2001:db8:aa:bc::1')).toBe(200)
    expect(await status('198.51.100.1')).toBe(200)
  })

  it('the plugin limits every route of the app; a route opts out with config.rateLimit = false', async () => {
    const app = Fastify()
    await app.register(rateLimitPlugin, { limiter: limiter({ limit: 1, window: '1m' }) })
    app.get('/a', async () => 'a')
    app.get('/b', async () => 'b')
    app.get('/health', { config: { rateLimit: false } }, async () => 'up')
    const base = await listen(app)
    expect((await fetch(`${base}/a`)).status).toBe(200)
    expect((await fetch(`${base}/b`)).status).toBe(429)
    const health = await fetch(`${base}/health`)
    expect(health.status).toBe(200)
    expect(health.headers.get('ratelimit')).toBeNull()
  })

  it('keys by user and answers with onLimited when given', async () => {
    const app = Fastify()
    app.addHook('onRequest', async (request) => {
      const user = request.headers['x-user']
      if (typeof user === 'string') (request as unknown as { user: { id: string } }).user = { id: user }
    })
    app.get(
      '/x',
      {
        onRequest: rateLimit(limiter({ limit: 1, window: '1m' }), {
          keyBy: 'user',
          onLimited: (_request, reply) => reply.code(503).send('slow down'),
        }),
      },
      async () => 'ok',
    )
    const base = await listen(app)
    const call = (user: string) => fetch(`${base}/x`, { headers: { 'x-user': user } })
    expect((await call('a')).status).toBe(200)
    const limited = await call('a')
    expect(limited.status).toBe(503)
    expect(await limited.text()).toBe('slow down')
    expect(limited.headers.get('retry-after')).not.toBeNull()
    expect((await call('b')).status).toBe(200)
  })
})
