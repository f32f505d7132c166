import type { Request, RequestHandler } from 'express'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'
import {
  createRedkit,
  ipKey,
  type RateLimitAlgorithm,
  type RateLimiter,
  type RateLimiterMetrics,
  type RateLimiterOptions,
  type RateLimitResult,
  type RateLimitTierName,
  rateLimitTiers,
} from '../../src/index.js'
import { rateLimit as expressRateLimit } from '../../src/integrations/express/index.js'
import { rateLimit as fastifyRateLimit, rateLimitPlugin } from '../../src/integrations/fastify/index.js'

describe('rate limiting types', () => {
  it('kit.limiter takes a name and options and returns a RateLimiter', () => {
    const kit = createRedkit()
    expectTypeOf(kit.limiter).parameters.toEqualTypeOf<[string, RateLimiterOptions]>()
    expectTypeOf(kit.limiter('api', { limit: 100, window: '1m' })).toEqualTypeOf<RateLimiter>()
    kit.limiter('login', rateLimitTiers.auth)
    kit.limiter('login', { ...rateLimitTiers.auth, limit: 5 })
    kit.limiter('pay', { tier: 'payment', onStoreError: 'deny', instances: 3 })
    kit.limiter('x', {
      algorithm: 'token-bucket',
      limit: 10,
      window: 1000,
      blockFor: { duration: '1m', max: '1h' },
    })
    // @ts-expect-error unknown algorithm
    kit.limiter('x', { algorithm: 'leaky-bucket', limit: 1, window: '1s' })
    // @ts-expect-error limit is a number
    kit.limiter('x', { limit: '100', window: '1m' })
    // @ts-expect-error unknown tier
    kit.limiter('x', { tier: 'gold' })
    // @ts-expect-error unknown store-error policy
    kit.limiter('x', { limit: 1, window: 1, onStoreError: 'ignore' })
  })

  it('decisions are typed', () => {
    const limiter = createRedkit().limiter('api', { limit: 1, window: 1 })
    expectTypeOf(limiter.consume('k')).resolves.toEqualTypeOf<RateLimitResult>()
    expectTypeOf(limiter.consume).parameters.toEqualTypeOf<[key: string, cost?: number]>()
    expectTypeOf(limiter.peek('k')).resolves.toEqualTypeOf<RateLimitResult>()
    expectTypeOf(limiter.penalty('k', 1)).resolves.toEqualTypeOf<RateLimitResult>()
    expectTypeOf(limiter.reward('k', 1)).resolves.toEqualTypeOf<RateLimitResult>()
    expectTypeOf(limiter.reset('k')).resolves.toBeVoid()
    expectTypeOf(limiter.block('k', '5m')).resolves.toBeVoid()
    expectTypeOf(limiter.metrics()).toEqualTypeOf<RateLimiterMetrics>()
    expectTypeOf<RateLimitResult>().toEqualTypeOf<{
      allowed: boolean
      limit: number
      remaining: number
      resetAt: number
      retryAfterMs: number
      blocked: boolean
    }>()
    expectTypeOf(limiter.options.algorithm).toEqualTypeOf<RateLimitAlgorithm>()
  })

  it('tiers are named', () => {
    expectTypeOf<keyof typeof rateLimitTiers>().toEqualTypeOf<RateLimitTierName>()
    expectTypeOf<RateLimitTierName>().toEqualTypeOf<'api' | 'auth' | 'payment'>()
    expectTypeOf(ipKey('::1')).toBeString()
  })

  it('the Express middleware is a RequestHandler with request-typed callbacks', () => {
    const limiter = createRedkit().limiter('api', { limit: 1, window: 1 })
    expectTypeOf(expressRateLimit(limiter)).toEqualTypeOf<RequestHandler>()
    expressRateLimit(limiter, {
      keyBy: (req) => {
        expectTypeOf(req).toEqualTypeOf<Request>()
        return req.get('x-api-key')
      },
      skip: (req) => req.path === '/health',
      cost: (req) => (req.method === 'POST' ? 2 : 1),
      ipv6Subnet: 56,
      legacyHeaders: true,
      onLimited: (_req, res, result) => {
        expectTypeOf(result).toEqualTypeOf<RateLimitResult>()
        res.status(429).end()
      },
    })
    // @ts-expect-error keyBy takes 'ip', 'user' or a function
    expressRateLimit(limiter, { keyBy: 'cookie' })
  })

  it('the Fastify hook and plugin are typed', () => {
    const limiter = createRedkit().limiter('api', { limit: 1, window: 1 })
    expectTypeOf(fastifyRateLimit(limiter)).toEqualTypeOf<
      (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
    >()
    fastifyRateLimit(limiter, { keyBy: (request) => request.headers['x-api-key'] as string | undefined })
    expectTypeOf(rateLimitPlugin).parameter(1).toMatchTypeOf<{ limiter: RateLimiter }>()
  })
})
