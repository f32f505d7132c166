import type { ConnectionOptions as BullConnection } from 'bullmq'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type BreakerStateChange,
  type Bus,
  createRedkit,
  type ExistingRedisClient,
  type HealthReport,
  type InvalidOptionsError,
  type RedisUnavailableError,
  type Redkit,
  type RedkitError,
  type RedkitOptions,
  type ScriptReply,
  type Store,
  type StoreMode,
} from '../../src/index.js'
import { createTestRedkit, MemoryStore } from '../../src/testing/index.js'

describe('public types', () => {
  it('createRedkit takes optional options and returns a Redkit', () => {
    expectTypeOf(createRedkit).parameter(0).toEqualTypeOf<RedkitOptions | undefined>()
    expectTypeOf(createRedkit()).toEqualTypeOf<Redkit>()
    expectTypeOf(createTestRedkit()).toEqualTypeOf<Redkit>()
  })

  it('options accept durations as numbers or strings and reject unknown shapes', () => {
    createRedkit({ commandTimeout: 500, breaker: { cooldown: '30s', threshold: 3 } })
    createRedkit({ cluster: { nodes: ['h:7000', { host: 'h', port: 7001 }] } })
    createRedkit({ sentinel: { sentinels: [{ host: 'h', port: 26379 }], name: 'mymaster' } })
    // @ts-expect-error port is a number
    createRedkit({ port: '6379' })
    // @ts-expect-error threshold is a number
    createRedkit({ breaker: { threshold: 'five' } })
  })

  it('the instance exposes typed members', () => {
    const kit = createRedkit()
    expectTypeOf(kit.mode).toEqualTypeOf<StoreMode>()
    expectTypeOf(kit.store).toEqualTypeOf<Store>()
    expectTypeOf(kit.bus).toEqualTypeOf<Bus>()
    expectTypeOf(kit.health()).resolves.toEqualTypeOf<HealthReport>()
    expectTypeOf(kit.queueConnection()).toExtend<BullConnection>()
    expectTypeOf(kit.close()).resolves.toBeVoid()
    kit.on('breakerStateChange', (change) => {
      expectTypeOf(change).toEqualTypeOf<BreakerStateChange>()
    })
  })

  it('store methods are typed', () => {
    const store: Store = new MemoryStore()
    expectTypeOf(store.get('k')).resolves.toEqualTypeOf<string | null>()
    expectTypeOf(store.getBuffer('k')).resolves.toEqualTypeOf<Buffer | null>()
    expectTypeOf(store.mget(['a'])).resolves.toEqualTypeOf<(string | null)[]>()
    expectTypeOf(store.runScript('x', [], [1, 'a'])).resolves.toEqualTypeOf<ScriptReply>()
    expectTypeOf(store.scan()).toEqualTypeOf<AsyncIterable<string[]>>()
  })

  it('bus payloads are typed by the subscriber', () => {
    const kit = createRedkit()
    void kit.bus.subscribe<{ id: string }>('c', (payload, meta) => {
      expectTypeOf(payload).toEqualTypeOf<{ id: string }>()
      expectTypeOf(meta.fromSelf).toBeBoolean()
    })
  })

  it('errors form a hierarchy', () => {
    expectTypeOf<RedisUnavailableError>().toExtend<RedkitError>()
    expectTypeOf<InvalidOptionsError>().toExtend<RedkitError>()
    expectTypeOf<RedkitError['code']>().toBeString()
  })
})

describe('createRedkit({ client })', () => {
  it('takes a node-redis client or cluster', async () => {
    const { createClient, createCluster } = await import('@redis/client')
    expectTypeOf(createRedkit).toBeCallableWith({ client: createClient() })
    expectTypeOf(createRedkit).toBeCallableWith({ client: createCluster({ rootNodes: [] }) })
    expectTypeOf(kitOptionsClient).toEqualTypeOf<ExistingRedisClient | undefined>()
  })
})

declare const kitOptionsClient: RedkitOptions['client']
