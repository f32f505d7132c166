// The middleware over real HTTP, Express 5 and Fastify 5 alike: a compound limiter sends the headers of
// its binding part; skipSuccessfulRequests / skipFailedRequests give units back; a shared access list.

import express from 'express'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import {
  type RateLimitOptions as ExpressOptions,
  rateLimit as expressRateLimit,
} from '../../src/integrations/express/index.js'
import {
  type RateLimitOptions as FastifyOptions,
  rateLimit as fastifyRateLimit,
} from '../../src/integrations/fastify/index.js'
import type { CompoundLimiter } from '../../src/ratelimit/compound-limiter.js'
import type { RateLimiter } from '../../src/ratelimit/limiter.js'
import { listenOn, waitFor } from '../harness/index.js'

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

/** Options both frameworks share, with the callbacks reading only headers and status. */
interface SharedOptions {
  keyBy?: ('ip' | ((req: { headers: Record<string, unknown> }) => string | undefined))[]
  skipSuccessfulRequests?: boolean
  skipFailedRequests?: boolean
  accessList?: ExpressOptions['accessList']
  userId?: (req: { headers: Record<string, unknown> }) => string | undefined
}

/** A server with `GET /x`: 200, or 401 when the request has `x-fail`. */
type Serve = (limiter: RateLimiter | CompoundLimiter, options: SharedOptions) => Promise<string>

const frameworks: Record<string, Serve> = {
  'Express 5': async (limiter, options) => {
    const app = express()
    app.get('/x', expressRateLimit(limiter, options as ExpressOptions), (req, res) => {
      res.status(req.get('x-fail') ? 401 : 200).json({ ok: true })
    })
    const url = await listenOn(app, closers)
    return `${url}/x`
  },
  'Fastify 5': async (limiter, options) => {
    const app = Fastify()
    app.get(
      '/x',
      { onRequest: fastifyRateLimit(limiter, options as FastifyOptions) },
      async (request, reply) => {
        reply.code(request.headers['x-fail'] ? 401 : 200)
        return { ok: true }
      },
    )
    closers.push(() => app.close())
    return `${await app.listen({ port: 0, host: '127.0.0.1' })}/x`
  },
}

const user = (req: { headers: Record<string, unknown> }) => req.headers['x-user'] as string | undefined

for (const [framework, serve] of Object.entries(frameworks)) {
  describe(`${framework} rateLimit`, () => {
    it('a compound limiter sends the headers of its binding part, and 429 names the refusing one', async () => {
      counter++
      const perIp = kit.limiter(`cip-${counter}`, { algorithm: 'fixed-window', limit: 5, window: '1m' })
      const perUser = kit.limiter(`cuser-${counter}`, { algorithm: 'token-bucket', limit: 2, window: '1m' })
      const compound = kit.compoundLimiter([
        { limiter: perIp, name: 'per-ip' },
        { limiter: perUser, name: 'per-user' },
      ])
      const url = await serve(compound, { keyBy: ['ip', user] })
      const as = (name: string) => fetch(url, { headers: { 'x-user': name } })

      const first = await as('u1')
      expect(first.status).toBe(200)
      expect(first.headers.get('ratelimit-policy')).toBe('"per-user";q=2;w=60')
      expect(first.headers.get('ratelimit')).toMatch(/^"per-user";r=1;t=\d+$/)
      expect((await as('u1')).headers.get('ratelimit')).toMatch(/^"per-user";r=0;/)
      const refused = await as('u1')
      expect(refused.status).toBe(429)
      expect(refused.headers.get('ratelimit-policy')).toBe('"per-user";q=2;w=60')
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      // The refusal took nothing from the IP part: 3 left of 5 for the next users.
      expect((await perIp.peek('ip:127.0.0.1')).remaining).toBe(3)
      expect((await as('u2')).headers.get('ratelimit')).toMatch(/^"per-user";r=1;/)
      await as('u2')
      // The IP has one left, fewer than a new user has: the IP part binds.
      const third = await as('u3')
      expect(third.status).toBe(200)
      expect(third.headers.get('ratelimit')).toMatch(/^"per-ip";r=0;/)
      const overIp = await as('u4')
      expect(overIp.status).toBe(429)
      expect(overIp.headers.get('ratelimit-policy')).toBe('"per-ip";q=5;w=60')
    })

    it('skipSuccessfulRequests counts only failures (a login limit)', async () => {
      counter++
      const login = kit.limiter(`login-${counter}`, { algorithm: 'fixed-window', limit: 2, window: '1m' })
      const url = await serve(login, { skipSuccessfulRequests: true })
      for (let i = 0; i < 4; i++) {
        expect((await fetch(url)).status).toBe(200)
        await waitFor(async () => (await login.peek('ip:127.0.0.1')).remaining === 2, {
          message: 'no refund',
        })
      }
      expect((await fetch(url, { headers: { 'x-fail': '1' } })).status).toBe(401)
      expect((await fetch(url, { headers: { 'x-fail': '1' } })).status).toBe(401)
      expect((await fetch(url)).status).toBe(429)
      expect((await login.peek('ip:127.0.0.1')).remaining).toBe(0)
    })

    it('skipFailedRequests counts only successes, also through a compound limiter', async () => {
      counter++
      const a = kit.limiter(`fa-${counter}`, { algorithm: 'fixed-window', limit: 2, window: '1m' })
      const b = kit.limiter(`fb-${counter}`, { algorithm: 'sliding-window', limit: 3, window: '1m' })
      const url = await serve(kit.compoundLimiter([{ limiter: a }, { limiter: b }]), {
        skipFailedRequests: true,
      })
      for (let i = 0; i < 3; i++) {
        expect((await fetch(url, { headers: { 'x-fail': '1' } })).status).toBe(401)
        await waitFor(async () => (await a.peek('ip:127.0.0.1')).remaining === 2, { message: 'no refund' })
      }
      expect((await b.peek('ip:127.0.0.1')).remaining).toBe(3)
      expect((await fetch(url)).status).toBe(200)
      expect((await fetch(url)).status).toBe(200)
      expect((await fetch(url)).status).toBe(429)
    })

    it('an access list refuses a denied range with 403 and lets an allowed user through unlimited', async () => {
      counter++
      const limiter = kit.limiter(`acl-${counter}`, { algorithm: 'fixed-window', limit: 1, window: '1m' })
      const list = kit.accessList(`acl-${counter}`)
      const url = await serve(limiter, { accessList: list, userId: user })
      await list.allow('user:admin')
      expect((await fetch(url, { headers: { 'x-user': 'admin' } })).status).toBe(200)
      expect((await fetch(url, { headers: { 'x-user': 'admin' } })).status).toBe(200)
      expect(limiter.metrics()).toMatchObject({ allowed: 0, rejected: 0 })
      await list.deny('127.0.0.0/8')
      const denied = await fetch(url, { headers: { 'x-user': 'admin' } })
      expect(denied.status).toBe(403)
      expect(await denied.json()).toMatchObject({ error: 'forbidden' })
      expect(limiter.metrics()).toMatchObject({ allowed: 0, rejected: 0 })
      await list.remove('127.0.0.0/8')
      expect((await fetch(url)).status).toBe(200)
      expect((await fetch(url)).status).toBe(429)
    })
  })
}
