// The Express middleware over real HTTP: RateLimit headers, 429 JSON body and Retry-After, keys that
// ignore a spoofed X-Forwarded-For unless trust proxy is set, IPv6 /64 grouping, skip and lists.

import express, { type Express } from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type RateLimiterOptions, type Redkit } from '../../src/index.js'
import { rateLimit } from '../../src/integrations/express/index.js'
import { listenOn } from '../harness/index.js'

let kit: Redkit
let counter = 0
const closers: (() => Promise<void>)[] = []

beforeAll(() => {
  kit = createRedkit({ url: 'memory', app: 'http', environment: {} })
})
afterAll(async () => {
  for (const close of closers.splice(0)) await close()
  await kit.close()
})

function limiter(options: RateLimiterOptions = { algorithm: 'fixed-window', limit: 2, window: '1m' }) {
  counter++
  return kit.limiter(`express-${counter}`, options)
}

async function listen(app: Express): Promise<string> {
  return listenOn(app, closers)
}

function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { headers })
}

describe('Express rateLimit', () => {
  it('sends the draft-8 RateLimit headers, then 429 with Retry-After and a JSON body', async () => {
    const app = express()
    const api = limiter()
    app.get('/x', rateLimit(api, { policyName: 'api' }), (_req, res) => {
      res.json({ ok: true })
    })
    const base = await listen(app)

    const first = await get(`${base}/x`)
    expect(first.status).toBe(200)
    expect(first.headers.get('ratelimit-policy')).toBe('"api";q=2;w=60')
    expect(first.headers.get('ratelimit')).toMatch(/^"api";r=1;t=(59|60)$/)
    expect(first.headers.get('x-ratelimit-limit')).toBeNull()
    expect(first.headers.get('retry-after')).toBeNull()
    expect((await get(`${base}/x`)).headers.get('ratelimit')).toMatch(/^"api";r=0;t=\d+$/)

    const limited = await get(`${base}/x`)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('content-type')).toMatch(/application\/json/)
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(59)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(limited.headers.get('ratelimit')).toMatch(/^"api";r=0;t=\d+$/)
    expect(await limited.json()).toEqual({
      error: 'too_many_requests',
      message: `Too many requests; retry in ${retryAfter} s.`,
      retryAfter,
      limit: 2,
      blocked: false,
    })
  })

  it('sends legacy X-RateLimit-* headers on request, and none of the standard ones when turned off', async () => {
    const app = express()
    app.get('/x', rateLimit(limiter(), { legacyHeaders: true, standardHeaders: false }), (_req, res) => {
      res.send('ok')
    })
    const base = await listen(app)
    const response = await get(`${base}/x`)
    expect(response.headers.get('x-ratelimit-limit')).toBe('2')
    expect(response.headers.get('x-ratelimit-remaining')).toBe('1')
    const reset = Number(response.headers.get('x-ratelimit-reset'))
    expect(reset).toBeGreaterThan(Date.now() / 1000 + 58)
    expect(reset).toBeLessThan(Date.now() / 1000 + 62)
    expect(response.headers.get('ratelimit')).toBeNull()
  })

  it('ignores a spoofed X-Forwarded-For when trust proxy is off: every request shares the socket key', async () => {
    const app = express()
    app.get('/x', rateLimit(limiter()), (_req, res) => {
      res.send('ok')
    })
    const base = await listen(app)
    const statuses: number[] = []
    for (const spoofed of ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4']) {
      statuses.push((await get(`${base}/x`, { 'x-forwarded-for': spoofed })).status)
    }
    expect(statuses).toEqual([200, 200, 429, 429])
  })

  it('with trust proxy, keys by the forwarded client; IPv6 addresses of one /64 share a key', async () => {
    const app = express()
    app.set('trust proxy', true)
    app.get('/x', rateLimit(limiter()), (_req, res) => {
      res.send('ok')
    })
    const base = await listen(app)
    const status = async (ip: string): Promise<number> =>
      (await get(`${base}/x`, { 'x-forwarded-for': ip })).status
    expect(await status('2001:db8:1:2::1')).toBe(200)
    expect(await status('2001:db8:1:2:ffff:1:2:3')).toBe(200)
    // Third request from the same /64, another address: limited.
    expect(await status('2001:0db8:0001:0002::9')).toBe(429)
    // The neighbouring /64 and an IPv4 client have their own limits.
    expect(await status('2001:db8:1:3::1')).toBe(200)
    expect(await status('203.0.113.7')).toBe(200)
    expect(await status('203.0.113.8')).toBe(200)
  })

  it('ipv6Subnet: 128 keys every IPv6 address on its own', async () => {
    const app = express()
    app.set('trust proxy', true)
    app.get('/x', rateLimit(limiter({ limit: 1, window: '1m' }), { ipv6Subnet: 128 }), (_req, res) => {
      res.send('ok')
    })
    const base = await listen(app)
    expect((await get(`${base}/x`, { 'x-forwarded-for': '2001:db8::1' })).status).toBe(200)
    expect((await get(`${base}/x`, { 'x-forwarded-for': '2001:db8::2' })).status).toBe(200)
    expect((await get(`${base}/x`, { 'x-forwarded-for': '2001:db8::1' })).status).toBe(429)
  })

  it('keys by user, skips, allow and deny lists, and per-route limiters', async () => {
    const app = express()
    app.use((req, _res, next) => {
      const user = req.headers['x-user']
      if (typeof user === 'string') (req as unknown as { user: { id: string } }).user = { id: user }
      next()
    })
    const perUser = rateLimit(limiter({ limit: 1, window: '1m' }), {
      keyBy: 'user',
      skip: (req) => req.headers['x-skip'] === '1',
      allowList: ['user:vip'],
      denyList: ['user:banned'],
    })
    app.get('/user', perUser, (_req, res) => {
      res.send('ok')
    })
    app.get('/other', rateLimit(limiter({ limit: 1, window: '1m' })), (_req, res) => {
      res.send('ok')
    })
    const base = await listen(app)
    const status = async (path: string, headers: Record<string, string> = {}) =>
      (await get(`${base}${path}`, headers)).status
    expect(await status('/user', { 'x-user': 'a' })).toBe(200)
    expect(await status('/user', { 'x-user': 'a' })).toBe(429)
    expect(await status('/user', { 'x-user': 'b' })).toBe(200)
    expect(await status('/user', { 'x-user': 'a', 'x-skip': '1' })).toBe(200)
    for (let i = 0; i < 3; i++) expect(await status('/user', { 'x-user': 'vip' })).toBe(200)
    const banned = await get(`${base}/user`, { 'x-user': 'banned' })
    expect(banned.status).toBe(403)
    expect(await banned.json()).toMatchObject({ error: 'forbidden' })
    // Anonymous requests fall back to the IP key; the other route has its own limiter.
    expect(await status('/user')).toBe(200)
    expect(await status('/user')).toBe(429)
    expect(await status('/other')).toBe(200)
  })

  it('a blocked client gets 429 with blocked: true and the block as Retry-After; onLimited can answer', async () => {
    const app = express()
    app.get('/login', rateLimit(limiter({ limit: 1, window: '1m', blockFor: '10m' })), (_req, res) => {
      res.send('ok')
    })
    app.get(
      '/custom',
      rateLimit(limiter({ limit: 1, window: '1m' }), {
        onLimited: (_req, res, result) => {
          res.status(503).send(`later ${result.remaining}`)
        },
      }),
      (_req, res) => {
        res.send('ok')
      },
    )
    const base = await listen(app)
    expect((await get(`${base}/login`)).status).toBe(200)
    const blocked = await get(`${base}/login`)
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('retry-after')).toBe('600')
    expect(await blocked.json()).toMatchObject({ blocked: true, retryAfter: 600 })
    expect((await get(`${base}/custom`)).status).toBe(200)
    const custom = await get(`${base}/custom`)
    expect(custom.status).toBe(503)
    expect(await custom.text()).toBe('later 0')
    expect(custom.headers.get('retry-after')).not.toBeNull()
  })

  it('rejects bad options when the middleware is created', () => {
    const api = limiter()
    expect(() => rateLimit(api, { ipv6Subnet: 200 })).toThrow(/ipv6Subnet/)
    expect(() => rateLimit(api, { cost: 3 })).toThrow(/cost/)
    expect(() => rateLimit(api, { keyBy: 'cookie' as 'ip' })).toThrow(/keyBy/)
    expect(() => rateLimit(api, { standardHeaders: 'draft-7' as never })).toThrow(
      "rateLimit: standardHeaders must be one of true, false, got 'draft-7'.",
    )
    expect(() => rateLimit(api, { onLimted: () => {} } as never)).toThrow(
      "rateLimit: unknown option 'onLimted' (did you mean 'onLimited'?)",
    )
    expect(() => rateLimit(api, { onLimited: 'json' as never })).toThrow(/onLimited must be a function/)
  })
})
