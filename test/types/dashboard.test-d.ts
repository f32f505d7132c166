import type { Request, Router } from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import { createRedkit } from '../../src/index.js'
import {
  type DashboardCacheSeries,
  type DashboardRoutesOptions,
  type DashboardSnapshot,
  dashboardRoutes,
} from '../../src/integrations/express/index.js'

describe('dashboard types', () => {
  const kit = createRedkit()

  it('dashboardRoutes returns an Express Router and takes a sync or async authorize', () => {
    expectTypeOf(dashboardRoutes(kit)).toEqualTypeOf<Router>()
    expectTypeOf(dashboardRoutes).toBeCallableWith(kit, {
      authorize: (req: Request) => req.ip === '127.0.0.1',
    })
    expectTypeOf(dashboardRoutes).toBeCallableWith(kit, { authorize: async () => true, interval: '5s' })
    expectTypeOf<DashboardRoutesOptions['authorize']>().toEqualTypeOf<
      ((req: Request) => boolean | Promise<boolean>) | undefined
    >()
    // @ts-expect-error authorize answers a boolean
    dashboardRoutes(kit, { authorize: () => 'yes' })
    // @ts-expect-error keyspace is a flag or sample options
    dashboardRoutes(kit, { keyspace: 'on' })
  })

  it('the snapshot keeps one value per sample time, null where an interval had no reads', () => {
    expectTypeOf<DashboardSnapshot['times']>().toEqualTypeOf<number[]>()
    expectTypeOf<DashboardSnapshot['caches']>().toEqualTypeOf<Record<string, DashboardCacheSeries>>()
    expectTypeOf<DashboardCacheSeries['hitRate']>().toEqualTypeOf<(number | null)[]>()
    expectTypeOf<DashboardSnapshot['latencySource']>().toEqualTypeOf<'traced' | 'store'>()
  })
})
