// redkit/prometheus on the embedded store and a real redis-server: the metrics land in the app's own
// prom-client registry, move by exactly the traffic, follow the breaker when Redis dies, and never leak
// the password of the Redis URL.

import { randomUUID } from 'node:crypto'
import { tracingChannel } from 'node:diagnostics_channel'
import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, InvalidOptionsError, type Redkit, tracingChannels } from '../../src/index.js'
import { registerMetrics } from '../../src/integrations/prometheus/index.js'
import { leaks, type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'
import { type Exposition, parseExposition } from './exposition.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => stopAllServers())

const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function kitOn(url: string, extra: Parameters<typeof createRedkit>[0] = {}): Redkit {
  const kit = createRedkit({ url, app: `prom${randomUUID().slice(0, 8)}`, ...extra })
  cleanups.push(() => kit.close())
  return kit
}

function register(...args: Parameters<typeof registerMetrics>): () => void {
  const unregister = registerMetrics(...args)
  cleanups.push(unregister)
  return unregister
}

async function scrape(registry: Registry): Promise<Exposition> {
  return parseExposition(await registry.metrics())
}

const SECRET = 'a session key secret of at least thirty-two bytes'

describe.each([
  ['memory', () => 'memory'],
  ['redis-server', () => server.url],
])('redkit/prometheus on %s', (_name, url) => {
  it('counters and the duration histogram move by exactly the traffic', async () => {
    const kit = kitOn(url())
    const registry = new Registry()
    register(kit, registry)
    const products = kit.cache('products', { ttl: '1h', l1: { max: 100 } })
    const api = kit.limiter('api', { limit: 2, window: '1m' })
    const sessions = kit.sessions({ secret: SECRET })
    const before = await scrape(registry)
    expect(before.valueOr0('redkit_cache_requests_total', { namespace: 'products', result: 'hit' })).toBe(0)

    let factoryCalls = 0
    const load = (id: number) => () => {
      factoryCalls++
      return { id }
    }
    for (const id of [1, 2, 3]) await products.getOrSet(`p:${id}`, load(id)) // 3 misses
    for (let i = 0; i < 5; i++) await products.getOrSet('p:1', load(1)) // 5 L1 hits
    expect(await products.get('absent')).toBeUndefined() // 1 miss
    expect(await products.get('p:2')).toEqual({ id: 2 }) // 1 L1 hit
    await products.set('p:9', { id: 9 })
    expect(await products.delete('p:9')).toBe(true)
    for (let i = 0; i < 3; i++) await api.consume('user:1') // 2 allowed, 1 rejected
    const sid = randomUUID()
    await sessions.set(sid, { cookie: { maxAge: 60_000 } } as never)
    await sessions.get(sid)
    await sessions.get(sid)
    await sessions.destroy(sid)

    const after = await scrape(registry)
    const cache = { namespace: 'products' }
    expect(factoryCalls).toBe(3)
    expect(after.value('redkit_cache_requests_total', { ...cache, result: 'hit' })).toBe(6)
    expect(after.value('redkit_cache_requests_total', { ...cache, result: 'miss' })).toBe(4)
    expect(after.value('redkit_cache_l1_hits_total', cache)).toBe(6)
    expect(after.value('redkit_cache_factory_calls_total', cache)).toBe(3)
    expect(after.value('redkit_cache_errors_total', cache)).toBe(0)
    expect(after.value('redkit_cache_stale_hits_total', cache)).toBe(0)
    expect(after.value('redkit_cache_grace_hits_total', cache)).toBe(0)
    expect(after.value('redkit_cache_deletes_total', cache)).toBe(1)
    expect(after.value('redkit_cache_l1_entries', cache)).toBe(3)
    const limiter = { limiter: 'api' }
    expect(after.value('redkit_ratelimit_decisions_total', { ...limiter, result: 'allowed' })).toBe(2)
    expect(after.value('redkit_ratelimit_decisions_total', { ...limiter, result: 'rejected' })).toBe(1)
    expect(after.value('redkit_ratelimit_decisions_total', { ...limiter, result: 'blocked' })).toBe(0)
    const store = { store: 'sess' }
    expect(after.value('redkit_session_operations_total', { ...store, operation: 'set' })).toBe(1)
    expect(after.value('redkit_session_operations_total', { ...store, operation: 'get' })).toBe(2)
    expect(after.value('redkit_session_operations_total', { ...store, operation: 'destroy' })).toBe(1)
    expect(after.value('redkit_breaker_state')).toBe(0)

    // One observation per call, by operation.
    const count = (operation: string) =>
      after.value('redkit_cache_operation_duration_seconds_count', { ...cache, operation })
    expect(count('getOrSet')).toBe(8)
    expect(count('get')).toBe(2)
    expect(count('set')).toBe(1)
    expect(count('delete')).toBe(1)
    const infinite = after.value('redkit_cache_operation_duration_seconds_bucket', {
      ...cache,
      operation: 'getOrSet',
      le: '+Inf',
    })
    expect(infinite).toBe(8)
    expect(
      after.value('redkit_cache_operation_duration_seconds_sum', { ...cache, operation: 'getOrSet' }),
    ).toBeGreaterThan(0)

    // The same numbers through prom-client's own JSON view.
    const json = await registry.getMetricsAsJSON()
    const requests = json.find((metric) => metric.name === 'redkit_cache_requests_total')
    expect(requests?.type).toBe('counter')
    expect(
      requests?.values.find((v) => v.labels.result === 'miss' && v.labels.namespace === 'products')?.value,
    ).toBe(4)

    // A second collection reads the same counters again: nothing is counted twice.
    const again = await scrape(registry)
    expect(again.value('redkit_cache_requests_total', { ...cache, result: 'hit' })).toBe(6)
    expect(
      again.value('redkit_cache_operation_duration_seconds_count', { ...cache, operation: 'getOrSet' }),
    ).toBe(8)
  })

  it('a blocked key is counted as blocked once it is rejected in process; the three results add up', async () => {
    const kit = kitOn(url())
    const registry = new Registry()
    register(kit, registry, { durations: false })
    const login = kit.limiter('login', { limit: 5, window: '1m' })
    await login.block('user:7', '1m')
    for (let i = 0; i < 4; i++) expect((await login.consume('user:7')).allowed).toBe(false)
    await login.consume('user:8')
    const exposition = await scrape(registry)
    const decisions = (result: string) =>
      exposition.value('redkit_ratelimit_decisions_total', { limiter: 'login', result })
    const reported = kit.metrics().ratelimit as Record<string, { blockedCacheHits: number }>
    expect(decisions('allowed')).toBe(1)
    expect(decisions('rejected') + decisions('blocked')).toBe(4)
    expect(decisions('blocked')).toBe(reported.login!.blockedCacheHits)
  })

  it('every name and label is valid, counters end in _total, and every metric has HELP and TYPE', async () => {
    const kit = kitOn(url())
    const registry = new Registry()
    register(kit, registry)
    await kit.cache('c').getOrSet('k', () => 1)
    await kit.limiter('l', { limit: 1, window: '1s' }).consume('k')
    kit.sessions({ secret: SECRET })
    const exposition = await scrape(registry)
    expect(exposition.types.size).toBeGreaterThanOrEqual(20)
    for (const [name, type] of exposition.types) {
      expect(name).toMatch(/^redkit_[a-z0-9_]+$/)
      expect(exposition.helps.get(name)).toMatch(/\w/)
      if (type === 'counter') expect(name).toMatch(/_total$/)
      else expect(name).not.toMatch(/_total$/)
    }
    for (const sample of exposition.samples) {
      for (const label of Object.keys(sample.labels)) expect(label).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
      expect(Number.isFinite(sample.value) || sample.labels.le === '+Inf').toBe(true)
    }
  })

  it('prefix and labels: two kits share one registry, each with its own values; unregister removes them', async () => {
    const one = kitOn(url())
    const two = kitOn(url())
    const registry = new Registry()
    const stopOne = register(one, registry, { prefix: 'shop_', labels: { redis: 'cache' } })
    const stopTwo = register(two, registry, { prefix: 'shop_', labels: { redis: 'sessions' } })
    await one.cache('c', { l1: { max: 10 } }).getOrSet('k', () => 1)
    await two.cache('c').get('nothing')
    const exposition = await scrape(registry)
    expect([...exposition.types.keys()].every((name) => name.startsWith('shop_'))).toBe(true)
    expect(
      exposition.value('shop_cache_requests_total', { redis: 'cache', namespace: 'c', result: 'miss' }),
    ).toBe(1)
    expect(
      exposition.value('shop_cache_requests_total', { redis: 'sessions', namespace: 'c', result: 'miss' }),
    ).toBe(1)
    expect(exposition.value('shop_cache_factory_calls_total', { redis: 'sessions', namespace: 'c' })).toBe(0)
    expect(
      exposition.value('shop_cache_operation_duration_seconds_count', {
        redis: 'cache',
        namespace: 'c',
        operation: 'getOrSet',
      }),
    ).toBe(1)
    expect(
      exposition.value('shop_cache_operation_duration_seconds_count', {
        redis: 'sessions',
        namespace: 'c',
        operation: 'get',
      }),
    ).toBe(1)

    // The same kit twice, or a second kit with the same labels, is refused.
    expect(() => registerMetrics(one, registry, { prefix: 'shop_', labels: { redis: 'other' } })).toThrow(
      /already in this registry/,
    )
    const three = kitOn(url())
    expect(() => registerMetrics(three, registry, { prefix: 'shop_', labels: { redis: 'cache' } })).toThrow(
      /same labels/,
    )
    expect(() => registerMetrics(three, registry, { prefix: 'shop_' })).toThrow(/other label names/)

    stopOne()
    const withoutOne = await scrape(registry)
    expect(withoutOne.samples.some((sample) => sample.labels.redis === 'cache')).toBe(false)
    expect(withoutOne.value('shop_cache_requests_total', { redis: 'sessions', result: 'miss' })).toBe(1)
    expect(tracingChannel(tracingChannels.cacheGet).hasSubscribers).toBe(true)
    stopTwo()
    stopTwo() // idempotent
    expect(await registry.getMetricsAsJSON()).toEqual([])
    expect(tracingChannel(tracingChannels.cacheGet).hasSubscribers).toBe(false)
    // Registering again after unregistering works.
    register(one, registry, { prefix: 'shop_' })
    expect((await scrape(registry)).types.has('shop_cache_requests_total')).toBe(true)
  })

  it('durations: false leaves the histogram out and the cache untraced', async () => {
    const kit = kitOn(url())
    const registry = new Registry()
    register(kit, registry, { durations: false })
    expect(tracingChannel(tracingChannels.cacheGetOrSet).hasSubscribers).toBe(false)
    await kit.cache('c').getOrSet('k', () => 1)
    const exposition = await scrape(registry)
    expect(exposition.types.has('redkit_cache_operation_duration_seconds')).toBe(false)
    expect(exposition.value('redkit_cache_factory_calls_total', { namespace: 'c' })).toBe(1)
  })
})

describe('registerMetrics options', () => {
  it('refuses bad options at registration, saying what to do', () => {
    const kit = kitOn('memory')
    const registry = new Registry()
    expect(() => registerMetrics(kit, registry, { prefx: 'x' } as never)).toThrow(
      "registerMetrics: unknown option 'prefx' (did you mean 'prefix'?)",
    )
    expect(() => registerMetrics(kit, registry, { prefix: '9bad' })).toThrow(InvalidOptionsError)
    expect(() => registerMetrics(kit, registry, { labels: { namespace: 'x' } })).toThrow(
      /cannot be a label name/,
    )
    expect(() => registerMetrics(kit, registry, { labels: { ok: 1 as never } })).toThrow(/must be a string/)
    expect(() => registerMetrics(kit, registry, { buckets: [0.1, 0.01] })).toThrow(/increasing/)
    expect(() => registerMetrics(kit, registry, { durations: 'yes' as never })).toThrow(/true or false/)
    expect(() => registerMetrics({} as never, registry)).toThrow(/redkit instance/)
    expect(() => registerMetrics(kit, {} as never)).toThrow(/prom-client Registry/)
    // Nothing was left half-registered by the refusals.
    expect(registry.getMetricsAsArray()).toEqual([])
  })

  it('a name the registry already has from elsewhere is refused without leaving redkit metrics behind', () => {
    const kit = kitOn('memory')
    const registry = new Registry()
    const other = new Registry()
    register(kit, other)
    // A foreign metric under one of redkit's names.
    registry.registerMetric(other.getSingleMetric('redkit_breaker_state')!)
    expect(() => registerMetrics(kit, registry)).toThrow(/refused a metric/)
    expect(
      registry.getMetricsAsArray().map((metric) => (metric as unknown as { name: string }).name),
    ).toEqual(['redkit_breaker_state'])
  })

  it('in memory mode no connection series is reported', async () => {
    const kit = kitOn('memory')
    const registry = new Registry()
    register(kit, registry)
    const exposition = await scrape(registry)
    expect(exposition.samples.filter((sample) => sample.name === 'redkit_connection_up')).toEqual([])
  })
})

describe('redkit/prometheus while Redis fails', () => {
  it('breaker state and connection_up follow a killed server; the URL password never appears', async () => {
    const password = `pw-${randomUUID()}`
    const guarded = await startRedis({ password })
    const kit = kitOn(guarded.url, { commandTimeout: 300, breaker: { threshold: 1, cooldown: 200 } })
    const registry = new Registry()
    register(kit, registry)
    const cache = kit.cache('c', { ttl: '1h' })
    await cache.set('k', 1)
    const texts: string[] = []
    const healthy = await registry.metrics()
    texts.push(healthy, JSON.stringify(await registry.getMetricsAsJSON()))
    expect(parseExposition(healthy).value('redkit_connection_up', { role: 'command' })).toBe(1)
    expect(parseExposition(healthy).value('redkit_breaker_state')).toBe(0)

    await guarded.kill9()
    expect(await cache.get('k')).toBeUndefined() // fails, absorbed: counted as an error
    const down = await waitFor<Exposition | undefined>(
      async () => {
        const text = await registry.metrics()
        texts.push(text)
        return parseExposition(text).value('redkit_breaker_state') === 2 ? parseExposition(text) : undefined
      },
      { message: 'breaker never reported open' },
    )
    expect(down!.value('redkit_connection_up', { role: 'command' })).toBe(0)
    expect(down!.value('redkit_cache_errors_total', { namespace: 'c' })).toBeGreaterThanOrEqual(1)
    texts.push(JSON.stringify(await registry.getMetricsAsJSON()))

    await guarded.restart()
    const back = await waitFor<Exposition | undefined>(
      async () => {
        await kit.ready().catch(() => {})
        const text = await registry.metrics()
        texts.push(text)
        const exposition = parseExposition(text)
        return exposition.value('redkit_breaker_state') === 0 &&
          exposition.value('redkit_connection_up', { role: 'command' }) === 1
          ? exposition
          : undefined
      },
      { message: 'breaker never reported closed again', timeoutMs: 10_000 },
    )
    expect(back!.value('redkit_breaker_consecutive_failures')).toBe(0)
    expect(leaks(texts, password)).toEqual([])
  })
})
