import type { Router } from 'express'
import Fastify, { type FastifyPluginAsync } from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type CacheOptions,
  type CacheTierName,
  type CacheTierRow,
  type CacheTiers,
  cacheTiers,
  createRedkit,
  type RateLimiterMetrics,
  type Redkit,
  tierTable,
} from '../../src/index.js'
import {
  type CacheBody,
  cacheTiersRoute,
  type HealthRoutesOptions,
  healthRoutes,
  type KeyspaceSample,
  type MetricsBody,
  metricsRoutes,
  type ReadyBody,
} from '../../src/integrations/express/index.js'
import {
  healthRoutes as fastifyHealthRoutes,
  metricsRoutes as fastifyMetricsRoutes,
  type RedkitPluginOptions,
  redkit,
} from '../../src/integrations/fastify/index.js'

describe('route types', () => {
  const kit = createRedkit()

  it('the Express routes are Routers and a handler', () => {
    expectTypeOf(healthRoutes(kit)).toEqualTypeOf<Router>()
    expectTypeOf(metricsRoutes(kit, { sample: { ttl: '1m', budget: 500 } })).toEqualTypeOf<Router>()
    expectTypeOf(cacheTiersRoute()).toBeFunction()
    healthRoutes(kit, {
      base: '/healthz',
      requireRedis: false,
      checkTimeout: '1s',
      timeout: 800,
      checks: {
        database: async (signal) => {
          expectTypeOf(signal).toEqualTypeOf<AbortSignal>()
          return true
        },
        search: { check: () => undefined, timeout: '250ms' },
      },
    })
    // @ts-expect-error base is a path
    healthRoutes(kit, { base: 42 })
    // @ts-expect-error a check is a function or { check }
    healthRoutes(kit, { checks: { db: 'select 1' } })
    // @ts-expect-error sample is a flag or options
    metricsRoutes(kit, { sample: 'yes' })
  })

  it('bodies are typed', () => {
    expectTypeOf<ReadyBody['status']>().toEqualTypeOf<'ready' | 'not_ready'>()
    expectTypeOf<CacheBody['namespaces'][string]['hitRate']>().toBeNumber()
    expectTypeOf<CacheBody['fallback']>().toBeBoolean()
    expectTypeOf<MetricsBody['cache'][string]['getLatencyMs']>().toEqualTypeOf<{ p50: number; p99: number }>()
    expectTypeOf<MetricsBody['ratelimit'][string]>().toEqualTypeOf<RateLimiterMetrics>()
    expectTypeOf<MetricsBody['keyspace']>().toEqualTypeOf<KeyspaceSample | undefined>()
    expectTypeOf<MetricsBody['closing']>().toBeBoolean()
    expectTypeOf(kit.closing).toBeBoolean()
  })

  it('the Fastify plugin types its options and decorates the instance', async () => {
    const app = Fastify()
    await app.register(redkit, { kit, health: { requireRedis: false }, metrics: true, tiers: { path: '/t' } })
    expectTypeOf(app.redkit).toEqualTypeOf<Redkit>()
    expectTypeOf<RedkitPluginOptions['closeOnShutdown']>().toEqualTypeOf<boolean | undefined>()
    expectTypeOf<RedkitPluginOptions['health']>().toEqualTypeOf<boolean | HealthRoutesOptions | undefined>()
    expectTypeOf(fastifyHealthRoutes(kit)).toEqualTypeOf<FastifyPluginAsync>()
    expectTypeOf(fastifyMetricsRoutes(kit)).toEqualTypeOf<FastifyPluginAsync>()
    // @ts-expect-error the kit is required
    await app.register(redkit, { health: true })
    // @ts-expect-error closeOnShutdown is a flag
    await app.register(redkit, { kit, closeOnShutdown: 'yes' })
  })

  it('the tier table is rows, also as cacheTiers.table, and tiers stay cache options', () => {
    expectTypeOf(tierTable()).toEqualTypeOf<CacheTierRow[]>()
    expectTypeOf(cacheTiers.table).toEqualTypeOf<() => CacheTierRow[]>()
    expectTypeOf(kit.tiers).toEqualTypeOf<CacheTiers>()
    expectTypeOf<CacheTierRow['name']>().toEqualTypeOf<CacheTierName>()
    expectTypeOf<CacheTierRow['staleTime']>().toBeNumber()
    expectTypeOf<CacheTierRow['l1TtlMs']>().toEqualTypeOf<number | null>()
    expectTypeOf(cacheTiers.list).toExtend<CacheOptions>()
    expectTypeOf(cacheTiers.analytics.cacheControl).toBeString()
    kit.cache('orders', cacheTiers.list)
    kit.cache('charts', { ...cacheTiers.analytics, swr: '30m' })
    // @ts-expect-error the table is not a tier
    kit.cache('x', { tier: 'table' })
  })
})
