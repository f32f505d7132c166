// The diagnostics_channel tracing channels on the embedded store and on a real redis-server: what each
// operation publishes, in which order, and what it never publishes (values, session ids, client keys).

import { randomUUID } from 'node:crypto'
import { channel as plainChannel, tracingChannel } from 'node:diagnostics_channel'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type BreakerChannelMessage, createRedkit, type Redkit, tracingChannels } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'
import { type ChannelRecorder, recordChannel } from './channel-recorder.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => stopAllServers())

const recorders: ChannelRecorder[] = []
const kits: Redkit[] = []
afterEach(async () => {
  for (const recorder of recorders.splice(0)) recorder.stop()
  await Promise.all(kits.splice(0).map((kit) => kit.close()))
})

function record(name: string): ChannelRecorder {
  const recorder = recordChannel(name)
  recorders.push(recorder)
  return recorder
}

const VALUE_MARK = 'VALUE-MARK-7f3a'
const SECRET = 'a session key secret of at least thirty-two bytes'

describe.each([
  ['memory', () => 'memory'],
  ['redis-server', () => server.url],
])('tracing channels on %s', (_name, url) => {
  function kit(): Redkit {
    const created = createRedkit({ url: url(), app: `trace${randomUUID().slice(0, 8)}` })
    kits.push(created)
    return created
  }

  it('cache.get publishes namespace, relative key and outcome (miss, L1 hit, Redis hit), never the value', async () => {
    const k = kit()
    const gets = record(tracingChannels.cacheGet)
    const withL1 = k.cache('l1c', { ttl: '1h', l1: { max: 100 } })
    const l2Only = k.cache('l2c', { ttl: '1h' })
    expect(await withL1.get(['product', 42])).toBeUndefined()
    await withL1.set(['product', 42], { mark: VALUE_MARK })
    await l2Only.set('k', { mark: VALUE_MARK })
    expect(await withL1.get(['product', 42])).toEqual({ mark: VALUE_MARK })
    expect(await l2Only.get('k')).toEqual({ mark: VALUE_MARK })

    expect(gets.finished()).toEqual([
      { prefix: k.prefix, namespace: 'l1c', key: 'product:42', outcome: 'miss' },
      { prefix: k.prefix, namespace: 'l1c', key: 'product:42', outcome: 'hit', l1: true },
      { prefix: k.prefix, namespace: 'l2c', key: 'k', outcome: 'hit' },
    ])
    expect(gets.finished().some((context) => 'result' in context)).toBe(false)
    // Every call: start, end (synchronous return), then asyncStart and asyncEnd once it settled.
    expect(gets.events.map((e) => e.event)).toEqual(
      Array.from({ length: 3 }, () => ['start', 'end', 'asyncStart', 'asyncEnd']).flat(),
    )
    expect(gets.renderings().filter((text) => text.includes(VALUE_MARK))).toEqual([])
  })

  it('cache.getOrSet: miss runs the factory, then L1 hit; a stale entry reads stale; a failing factory publishes its error', async () => {
    const k = kit()
    const calls = record(tracingChannels.cacheGetOrSet)
    const cache = k.cache('gos', { ttl: '1h', l1: { max: 100 } })
    let factoryRuns = 0
    const factory = () => {
      factoryRuns++
      return { mark: VALUE_MARK }
    }
    expect(await cache.getOrSet('p:1', factory)).toEqual({ mark: VALUE_MARK })
    expect(await cache.getOrSet('p:1', factory)).toEqual({ mark: VALUE_MARK })
    expect(factoryRuns).toBe(1)

    const swr = k.cache('swr', { ttl: 30, swr: '1h' })
    await swr.getOrSet('s', () => 'first')
    await new Promise((resolve) => setTimeout(resolve, 60)) // past the 30 ms fresh time
    expect(await swr.getOrSet('s', () => 'second')).toBe('first')

    const failure = new Error('database down')
    await expect(
      cache.getOrSet('p:2', () => {
        throw failure
      }),
    ).rejects.toBe(failure)

    const finished = calls.finished()
    expect(finished.map(({ namespace, key, outcome, l1 }) => ({ namespace, key, outcome, l1 }))).toEqual([
      { namespace: 'gos', key: 'p:1', outcome: 'miss', l1: undefined },
      { namespace: 'gos', key: 'p:1', outcome: 'hit', l1: true },
      { namespace: 'swr', key: 's', outcome: 'miss', l1: undefined },
      { namespace: 'swr', key: 's', outcome: 'stale', l1: undefined },
      { namespace: 'gos', key: 'p:2', outcome: 'miss', l1: undefined },
    ])
    expect(finished.some((context) => 'result' in context)).toBe(false)
    const errors = calls.events.filter((e) => e.event === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]!.context).toMatchObject({ namespace: 'gos', key: 'p:2', error: failure })
    expect(calls.renderings().filter((text) => text.includes(VALUE_MARK))).toEqual([])
  })

  it('cache.set and cache.delete publish the key, never the value; delete tells whether the key existed', async () => {
    const k = kit()
    const sets = record(tracingChannels.cacheSet)
    const invalidations = record(tracingChannels.cacheInvalidate)
    const cache = k.cache('w')
    await cache.set(['user', 7], { mark: VALUE_MARK }, { ttl: '1m' })
    expect(await cache.delete(['user', 7])).toBe(true)
    expect(await cache.delete(['user', 7])).toBe(false)
    expect(sets.finished()).toEqual([{ prefix: k.prefix, namespace: 'w', key: 'user:7', result: undefined }])
    expect(invalidations.finished()).toEqual([
      { prefix: k.prefix, kind: 'delete', namespace: 'w', key: 'user:7', existed: true, result: true },
      { prefix: k.prefix, kind: 'delete', namespace: 'w', key: 'user:7', existed: false, result: false },
    ])
    expect(sets.renderings().filter((text) => text.includes(VALUE_MARK))).toEqual([])
  })

  it('kit.invalidateTags and cache.invalidateTags publish the tags on the invalidate channel', async () => {
    const k = kit()
    const invalidations = record(tracingChannels.cacheInvalidate)
    const cache = k.cache('t')
    await cache.getOrSet('x', () => 1, { tags: ['company:1'] })
    await k.invalidateTags(['company:1', 'company:2'])
    await cache.invalidateTags(['company:3'])
    expect(invalidations.finished().map(({ prefix, kind, tags }) => ({ prefix, kind, tags }))).toEqual([
      { prefix: k.prefix, kind: 'tags', tags: ['company:1', 'company:2'] },
      { prefix: k.prefix, kind: 'tags', tags: ['company:3'] },
    ])
    expect(await cache.getOrSet('x', () => 2)).toBe(2)
  })

  it('limiter.consume publishes the limiter, cost and decision, not the client key', async () => {
    const k = kit()
    const consumes = record(tracingChannels.limiterConsume)
    const limiter = k.limiter('login', { limit: 2, window: '1m' })
    const client = 'ip:203.0.113.77'
    await limiter.consume(client)
    await limiter.consume(client)
    const third = await limiter.consume(client)
    expect(third.allowed).toBe(false)
    const finished = consumes.finished()
    expect(
      finished.map(({ prefix, limiter, cost, allowed, remaining, blocked }) => ({
        prefix,
        limiter,
        cost,
        allowed,
        remaining,
        blocked,
      })),
    ).toEqual([
      { prefix: k.prefix, limiter: 'login', cost: 1, allowed: true, remaining: 1, blocked: false },
      { prefix: k.prefix, limiter: 'login', cost: 1, allowed: true, remaining: 0, blocked: false },
      { prefix: k.prefix, limiter: 'login', cost: 1, allowed: false, remaining: 0, blocked: false },
    ])
    expect(finished[2]!.result).toEqual(third)
    expect(consumes.renderings().filter((text) => text.includes('203.0.113.77'))).toEqual([])
  })

  it('session get and set publish a hash of the session id, never the id or the session data', async () => {
    const k = kit()
    const gets = record(tracingChannels.sessionGet)
    const sets = record(tracingChannels.sessionSet)
    const store = k.sessions({ secret: SECRET })
    const sid = `sid-${randomUUID()}`
    await store.set(sid, { cookie: { maxAge: 60_000 }, mark: VALUE_MARK } as never)
    expect(await store.get(sid)).toMatchObject({ mark: VALUE_MARK })
    expect(await store.get(`other-${randomUUID()}`)).toBeNull()

    const [set] = sets.finished()
    const [found, missing] = gets.finished()
    expect(set).toMatchObject({ prefix: k.prefix, store: 'sess' })
    expect(found).toMatchObject({ prefix: k.prefix, store: 'sess', found: true })
    expect('result' in found!).toBe(false)
    expect(missing).toMatchObject({ found: false })
    expect(found!.sessionId).toMatch(/^[\w-]{12}$/)
    expect(found!.sessionId).toBe(set!.sessionId)
    expect(missing!.sessionId).not.toBe(found!.sessionId)
    const rendered = [...gets.renderings(), ...sets.renderings()]
    expect(rendered.filter((text) => text.includes(sid) || text.includes(VALUE_MARK))).toEqual([])
  })

  it('publishes nothing once the subscriber is gone', async () => {
    const k = kit()
    const gets = record(tracingChannels.cacheGetOrSet)
    const cache = k.cache('quiet', { ttl: '1h', l1: { max: 10 } })
    await cache.getOrSet('a', () => 1)
    gets.stop()
    expect(tracingChannel(tracingChannels.cacheGetOrSet).hasSubscribers).toBe(false)
    await cache.getOrSet('a', () => 1)
    await cache.getOrSet('b', () => 2)
    expect(gets.events.filter((e) => e.event === 'start')).toHaveLength(1)
  })
})

describe('tracing channels, embedded store only', () => {
  it('without a secret the session id is still published only as a hash', async () => {
    const k = createRedkit({ url: 'memory', app: 'plainids' })
    kits.push(k)
    const gets = record(tracingChannels.sessionGet)
    const store = k.sessions()
    const sid = `sid-${randomUUID()}`
    await store.set(sid, { cookie: { maxAge: 60_000 } } as never)
    await store.get(sid)
    const [context] = gets.finished()
    expect(context!.sessionId).toMatch(/^[\w-]{12}$/)
    expect(gets.renderings().filter((text) => text.includes(sid))).toEqual([])
  })
})

describe('tracing channels while Redis fails', () => {
  it('the breaker channel reports open and closed; getOrSet reads grace while Redis is down', async () => {
    const failing = await startRedis()
    const k = createRedkit({
      url: failing.url,
      app: 'tracefault',
      commandTimeout: 300,
      breaker: { threshold: 1, cooldown: 200 },
    })
    kits.push(k)
    const messages: BreakerChannelMessage[] = []
    const onMessage = (message: unknown) => messages.push(message as BreakerChannelMessage)
    plainChannel(tracingChannels.breaker).subscribe(onMessage)
    const calls = record(tracingChannels.cacheGetOrSet)
    try {
      const cache = k.cache('g', { ttl: 30, grace: '1h', l1: { max: 10 } })
      expect(await cache.getOrSet('k', () => 'kept')).toBe('kept')
      await new Promise((resolve) => setTimeout(resolve, 60)) // past the 30 ms fresh time
      await failing.kill9()
      expect(await cache.getOrSet('k', () => 'unreachable database')).toBe('kept')
      expect(calls.finished().at(-1)).toMatchObject({ namespace: 'g', key: 'k', outcome: 'grace' })
      await waitFor(() => messages.some((m) => m.to === 'open'), { message: 'no breaker open message' })
      expect(messages[0]).toMatchObject({ prefix: k.prefix, from: 'closed', to: 'open' })

      await failing.restart()
      await waitFor(
        async () => {
          await k.ready().catch(() => {})
          return messages.at(-1)?.to === 'closed'
        },
        { message: 'no breaker closed message', timeoutMs: 10_000 },
      )
      expect(messages.every((m) => m.prefix === k.prefix)).toBe(true)
    } finally {
      plainChannel(tracingChannels.breaker).unsubscribe(onMessage)
    }
  })
})
