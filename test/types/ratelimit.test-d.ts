import type { Request, RequestHandler } from 'express'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type AccessList,
  type AccessRule,
  type CompoundLimiter,
  type CompoundLimitResult,
  createRedkit,
  ipKey,
  type LimitTarget,
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
    expectTypeOf(rateLimitPlugin).parameter(1).toMatchTypeOf<{ limiter: RateLimiter | CompoundLimiter }>()
  })

  it('compound limits are typed', async () => {
    const kit = createRedkit()
    const perIp = kit.limiter('ip', { limit: 10, window: '1m' })
    const perUser = kit.limiter('user', { algorithm: 'token-bucket', limit: 5, window: '1m' })
    const compound = kit.compoundLimiter([{ limiter: perIp, name: 'ip' }, { limiter: perUser }], {
      hashTag: 't',
    })
    expectTypeOf(compound).toEqualTypeOf<CompoundLimiter>()
    expectTypeOf(compound.consume).parameters.toEqualTypeOf<
      [keys: readonly string[], cost?: number | readonly number[]]
    >()
    const result = await compound.consume(['ip:1', 'user:1'], [1, 2])
    expectTypeOf(result).toEqualTypeOf<CompoundLimitResult>()
    expectTypeOf(result).toMatchTypeOf<RateLimitResult>()
    expectTypeOf(result.parts).toEqualTypeOf<(RateLimitResult | undefined)[]>()
    expectTypeOf(result.rejectedBy).toEqualTypeOf<number | undefined>()
    expectTypeOf(result.rejectedName).toEqualTypeOf<string | undefined>()
    expectTypeOf(result.binding).toBeNumber()
    expectTypeOf(
      kit.compoundLimit([
        { limiter: perIp, key: 'ip:1' },
        { limiter: perUser, key: 'user:1', cost: 2 },
      ]),
    ).resolves.toEqualTypeOf<CompoundLimitResult>()
    // @ts-expect-error a one-shot part needs its key
    kit.compoundLimit([{ limiter: perIp }])
    // @ts-expect-error unknown option
    kit.compoundLimiter([{ limiter: perIp }], { tag: 'x' })
    expressRateLimit(compound, { keyBy: ['ip', (req) => req.get('x-user')] })
    fastifyRateLimit(compound, { keyBy: 'ip' })
  })

  it('runtime limits and access lists are typed', () => {
    const kit = createRedkit()
    const limiter = kit.limiter('api', { limit: 1, window: 1 })
    expectTypeOf(limiter.setLimit).parameters.toEqualTypeOf<[limit: number, options?: LimitTarget]>()
    expectTypeOf(limiter.setLimit(5, { key: 'user:1' })).resolves.toBeVoid()
    expectTypeOf(limiter.clearLimit()).resolves.toBeVoid()
    expectTypeOf(limiter.limitFor('k')).toBeNumber()
    const list = kit.accessList('api', { maxEntries: 100 })
    expectTypeOf(list).toEqualTypeOf<AccessList>()
    expectTypeOf(list.check('10.0.0.1', 42)).resolves.toEqualTypeOf<AccessRule | undefined>()
    expectTypeOf(list.deny('10.0.0.0/8')).resolves.toBeVoid()
    expectTypeOf<AccessRule>().toEqualTypeOf<'allow' | 'deny'>()
    expressRateLimit(limiter, {
      accessList: list,
      skipSuccessfulRequests: true,
      requestWasSuccessful: (req, res) => {
        expectTypeOf(req).toEqualTypeOf<Request>()
        return res.statusCode !== 401
      },
    })
    fastifyRateLimit(limiter, {
      skipFailedRequests: true,
      requestWasSuccessful: (_request, reply) => {
        expectTypeOf(reply).toEqualTypeOf<FastifyReply>()
        return reply.statusCode < 500
      },
    })
    // @ts-expect-error the refund options are booleans
    expressRateLimit(limiter, { skipSuccessfulRequests: 'yes' })
  })
})
