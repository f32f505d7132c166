import { type TracingChannelSubscribers, tracingChannel } from 'node:diagnostics_channel'
import { Registry } from 'prom-client'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type BreakerChannelMessage,
  type CacheOutcome,
  type CacheTraceContext,
  createRedkit,
  type RateLimitTraceContext,
  type SessionTraceContext,
  type TracingChannelName,
  tracingChannels,
} from '../../src/index.js'
import { type PrometheusMetricsOptions, registerMetrics } from '../../src/integrations/prometheus/index.js'

describe('observability types', () => {
  it('channel names are literal types', () => {
    expectTypeOf(tracingChannels.cacheGetOrSet).toEqualTypeOf<'redkit:cache:getOrSet'>()
    expectTypeOf(tracingChannels.breaker).toEqualTypeOf<'redkit:breaker'>()
    expectTypeOf<TracingChannelName>().toEqualTypeOf<(typeof tracingChannels)[keyof typeof tracingChannels]>()
    expectTypeOf<'redkit:cache:get'>().toExtend<TracingChannelName>()
  })

  it('contexts type a subscriber', () => {
    const subscribers: TracingChannelSubscribers<CacheTraceContext> = {
      start(context) {
        expectTypeOf(context.namespace).toBeString()
        expectTypeOf(context.key).toBeString()
      },
      end() {},
      asyncStart() {},
      asyncEnd(context) {
        expectTypeOf(context.outcome).toEqualTypeOf<CacheOutcome | undefined>()
        expectTypeOf(context.l1).toEqualTypeOf<boolean | undefined>()
      },
      error(context) {
        expectTypeOf(context.error).toBeUnknown()
      },
    }
    tracingChannel<CacheTraceContext, CacheTraceContext>(tracingChannels.cacheGet).subscribe(subscribers)
    expectTypeOf<CacheOutcome>().toEqualTypeOf<'hit' | 'stale' | 'grace' | 'miss'>()
    expectTypeOf<RateLimitTraceContext['allowed']>().toEqualTypeOf<boolean | undefined>()
    expectTypeOf<SessionTraceContext['sessionId']>().toBeString()
    expectTypeOf<BreakerChannelMessage['to']>().toEqualTypeOf<'closed' | 'open' | 'half-open'>()
  })

  it('registerMetrics takes a kit, a prom-client registry and options, and returns the unregister function', () => {
    const kit = createRedkit()
    expectTypeOf(registerMetrics(kit, new Registry())).toEqualTypeOf<() => void>()
    registerMetrics(kit, new Registry(), { prefix: 'shop_', labels: { redis: 'cache' }, durations: false })
    registerMetrics(kit, new Registry(), { buckets: [0.001, 0.01], connection: false })
    expectTypeOf<PrometheusMetricsOptions['labels']>().toEqualTypeOf<Record<string, string> | undefined>()
    // @ts-expect-error labels are strings
    registerMetrics(kit, new Registry(), { labels: { redis: 1 } })
    // @ts-expect-error unknown option
    registerMetrics(kit, new Registry(), { prefx: 'x' })
  })
})
