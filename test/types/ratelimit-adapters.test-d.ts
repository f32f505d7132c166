import { rateLimit, type Store } from 'express-rate-limit'
import type { RateLimiterRes as FlexibleRes } from 'rate-limiter-flexible'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type AdapterStoreErrorPolicy,
  createRedkit,
  RateLimiterRedkit,
  type RateLimiterRedkitOptions,
  RateLimiterRes,
  type RateLimiterResJson,
  type Redkit,
} from '../../src/index.js'
import { RedkitStore, type RedkitStoreOptions } from '../../src/integrations/express-rate-limit/index.js'

describe('express-rate-limit store types', () => {
  it('RedkitStore is an express-rate-limit Store that rateLimit() accepts', () => {
    const kit = createRedkit()
    const store = new RedkitStore({ kit, prefix: 'api', onStoreError: 'throw', instances: 2 })
    expectTypeOf(store).toExtend<Store>()
    rateLimit({ windowMs: 60_000, limit: 100, standardHeaders: 'draft-8', store })
    expectTypeOf(store.localKeys).toEqualTypeOf<false>()
    expectTypeOf(store.prefix).toBeString()
    expectTypeOf(store.increment('k')).resolves.toEqualTypeOf<{
      totalHits: number
      resetTime: Date | undefined
    }>()
    expectTypeOf(store.get('k')).resolves.toEqualTypeOf<
      { totalHits: number; resetTime: Date | undefined } | undefined
    >()
    expectTypeOf(store.decrement('k')).resolves.toBeVoid()
    expectTypeOf(store.resetKey('k')).resolves.toBeVoid()
    expectTypeOf(store.resetAll()).resolves.toBeVoid()
  })

  it('options: a kit is required, the policy is a closed set', () => {
    expectTypeOf<RedkitStoreOptions['kit']>().toEqualTypeOf<Redkit>()
    expectTypeOf<RedkitStoreOptions['onStoreError']>().toEqualTypeOf<AdapterStoreErrorPolicy | undefined>()
    expectTypeOf<AdapterStoreErrorPolicy>().toEqualTypeOf<'insurance' | 'throw'>()
    // @ts-expect-error kit is required
    new RedkitStore({ prefix: 'api' })
    // @ts-expect-error unknown policy
    new RedkitStore({ kit: createRedkit(), onStoreError: 'allow' })
  })
})

describe('rate-limiter-flexible facade types', () => {
  it('takes rate-limiter-flexible option names, plus the kit', () => {
    const kit = createRedkit()
    const limiter = new RateLimiterRedkit({
      kit,
      keyPrefix: 'login',
      points: 5,
      duration: 60,
      blockDuration: 300,
      blockOnConsumed: 10,
      inMemoryBlockOnConsumed: 5,
      inMemoryBlockDuration: 30,
      execEvenly: false,
      onStoreError: 'insurance',
      instances: 3,
    })
    expectTypeOf(limiter.points).toBeNumber()
    expectTypeOf(limiter.keyPrefix).toBeString()
    expectTypeOf<RateLimiterRedkitOptions['points']>().toBeNumber()
    // @ts-expect-error execEvenly is refused
    new RateLimiterRedkit({ kit, points: 1, duration: 1, execEvenly: true })
    // @ts-expect-error the kit replaces storeClient
    new RateLimiterRedkit({ kit, points: 1, duration: 1, storeClient: {} })
    // @ts-expect-error points and duration are required
    new RateLimiterRedkit({ kit, points: 1 })
  })

  it('methods resolve with RateLimiterRes, like rate-limiter-flexible', () => {
    const limiter = new RateLimiterRedkit({ kit: createRedkit(), points: 5, duration: 60 })
    expectTypeOf(limiter.consume('k')).resolves.toEqualTypeOf<RateLimiterRes>()
    expectTypeOf(limiter.consume(42, 2)).resolves.toEqualTypeOf<RateLimiterRes>()
    expectTypeOf(limiter.penalty('k', 1)).resolves.toEqualTypeOf<RateLimiterRes>()
    expectTypeOf(limiter.reward('k')).resolves.toEqualTypeOf<RateLimiterRes>()
    expectTypeOf(limiter.block('k', 60)).resolves.toEqualTypeOf<RateLimiterRes>()
    expectTypeOf(limiter.get('k')).resolves.toEqualTypeOf<RateLimiterRes | null>()
    expectTypeOf(limiter.delete('k')).resolves.toEqualTypeOf<boolean>()
    expectTypeOf(limiter.deleteInMemoryBlockedAll()).toBeVoid()
    // @ts-expect-error per-call options (customDuration) are not supported
    limiter.consume('k', 1, { customDuration: 10 })
  })

  it('RateLimiterRes has the fields and methods of rate-limiter-flexible’s', () => {
    expectTypeOf<RateLimiterRes>().toExtend<FlexibleRes>()
    expectTypeOf<RateLimiterRes['msBeforeNext']>().toBeNumber()
    expectTypeOf<RateLimiterRes['isFirstInDuration']>().toBeBoolean()
    expectTypeOf(new RateLimiterRes().toJSON()).toEqualTypeOf<RateLimiterResJson>()
    expectTypeOf(new RateLimiterRes().toString()).toBeString()
    expectTypeOf(RateLimiterRes).constructorParameters.toEqualTypeOf<
      [remainingPoints?: number, msBeforeNext?: number, consumedPoints?: number, isFirstInDuration?: boolean]
    >()
  })
})
