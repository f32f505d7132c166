import express, { type Request, type RequestHandler, type Response } from 'express'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type Cache,
  type CacheLookup,
  type CacheOutcome,
  type CacheStatus,
  createRedkit,
  type FactoryContext,
  type HttpCacheOptions,
  type InvalidateOnMetrics,
  type InvalidateOnOptions,
  type InvalidationTags,
} from '../../src/index.js'
import {
  type CacheResponseOptions as ExpressCacheResponseOptions,
  cacheResponse as expressCacheResponse,
  invalidateOn as expressInvalidateOn,
} from '../../src/integrations/express/index.js'
import {
  type CacheResponseHooks,
  type CacheResponseOptions as FastifyCacheResponseOptions,
  cacheResponse as fastifyCacheResponse,
  invalidateOn as fastifyInvalidateOn,
  type InvalidateOnHook,
} from '../../src/integrations/fastify/index.js'

const kit = createRedkit()

describe('HTTP response caching types', () => {
  it('Express: cacheResponse and invalidateOn are request handlers', () => {
    const pages = kit.cache('pages', kit.tiers.list)
    expectTypeOf(expressCacheResponse(pages)).toEqualTypeOf<RequestHandler>()
    const handler = expressCacheResponse(pages, {
      key: (req) => (req as Request & { user?: { id: string } }).user?.id,
      tags: (req) => [`vendor:${req.params.vendorId}`],
      vary: ['accept-language'],
      ttl: '30s',
      cacheControl: 'private, max-age=10',
      statusHeader: false,
      shared: false,
      maxBodySize: 1024,
      waitTimeout: 5000,
      skip: (req) => req.query.fresh === '1',
      authenticated: (req) => req.headers['x-api-key'] !== undefined,
    })
    express().get('/vendors/:vendorId/products', handler, (_req, res) => {
      res.json([])
    })
    expectTypeOf<ExpressCacheResponseOptions>().toMatchTypeOf<HttpCacheOptions<Request>>()
    // @ts-expect-error the cache comes first
    expressCacheResponse({ ttl: '1m' })
    // @ts-expect-error tags is a function of the request
    expressCacheResponse(pages, { tags: ['vendor:1'] })
    // @ts-expect-error cacheControl is a string or false
    expressCacheResponse(pages, { cacheControl: true })
    // @ts-expect-error unknown option
    expressCacheResponse(pages, { sharde: true })

    const invalidate = expressInvalidateOn(kit, (req: Request, res: Response) => [
      `vendor:${req.params.vendorId}`,
      String(res.locals.id),
    ])
    expectTypeOf(invalidate).toEqualTypeOf<RequestHandler>()
    expressInvalidateOn(kit, async () => undefined, { methods: ['POST'] })
    // @ts-expect-error the kit comes first
    expressInvalidateOn(() => ['a'])
    // @ts-expect-error tags are strings
    expressInvalidateOn(kit, () => [1])
  })

  it('Fastify: cacheResponse returns route hooks typed by the route, invalidateOn an onResponse hook', () => {
    const pages = kit.cache('pages')
    const app = Fastify()
    type Route = { Params: { vendorId: string }; Querystring: { page?: string } }
    const hooks = fastifyCacheResponse<Route>(pages, {
      tags: (request) => {
        expectTypeOf(request.params.vendorId).toBeString()
        return [`vendor:${request.params.vendorId}`]
      },
      key: (request) => request.query.page,
    })
    expectTypeOf(hooks).toEqualTypeOf<CacheResponseHooks<Route>>()
    app.get<Route>('/vendors/:vendorId/products', { ...hooks }, async () => [])
    app.get('/plain', fastifyCacheResponse(pages), async () => 'ok')
    expectTypeOf<FastifyCacheResponseOptions>().toMatchTypeOf<HttpCacheOptions<FastifyRequest>>()

    const onResponse = fastifyInvalidateOn<Route>(kit, (request, reply: FastifyReply) => [
      `vendor:${request.params.vendorId}:${reply.statusCode}`,
    ])
    expectTypeOf(onResponse).toEqualTypeOf<InvalidateOnHook<Route>>()
    app.post<Route>('/vendors/:vendorId/products', { onResponse }, async () => ({ ok: true }))
    // @ts-expect-error tags are strings
    fastifyInvalidateOn(kit, () => [true])
  })

  it('the shared types', () => {
    expectTypeOf<CacheStatus>().toEqualTypeOf<'HIT' | 'STALE' | 'MISS' | 'BYPASS'>()
    expectTypeOf<InvalidationTags>().toEqualTypeOf<readonly string[] | undefined>()
    expectTypeOf<InvalidateOnOptions>().toEqualTypeOf<{ methods?: readonly string[] }>()
    expectTypeOf<InvalidateOnMetrics>().toEqualTypeOf<{
      invalidations: number
      tags: number
      errors: number
    }>()
  })

  it('getOrSetWithOutcome resolves the value and its outcome; factories learn when they run in the background', () => {
    const products = kit.cache<{ id: number }>('products')
    const lookup = products.getOrSetWithOutcome('p:1', ({ background, stale }) => {
      expectTypeOf(background).toBeBoolean()
      expectTypeOf(stale).toEqualTypeOf<{ id: number } | undefined>()
      return { id: 1 }
    })
    expectTypeOf(lookup).resolves.toEqualTypeOf<CacheLookup<{ id: number }>>()
    expectTypeOf<CacheLookup<number>['outcome']>().toEqualTypeOf<CacheOutcome>()
    expectTypeOf<FactoryContext<number>['background']>().toBeBoolean()
    // A typed cache fits where the middleware takes one.
    expectTypeOf(products).toMatchTypeOf<Cache>()
  })
})
