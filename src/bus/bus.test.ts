import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../../test/harness/index.js'
import { createRedkit, type Logger } from '../index.js'
import { decodeMessage, encodeMessage } from './message-codec.js'

function collectingLogger(): Logger & { errors: string[] } {
  const errors: string[] = []
  const noop = () => {}
  return { errors, debug: noop, info: noop, warn: noop, error: (_f, message) => errors.push(message) }
}

describe('message codec', () => {
  it('round-trips payloads with the source id', () => {
    expect(decodeMessage(encodeMessage('me', { a: [1, 'x'] }))).toEqual({
      source: 'me',
      payload: { a: [1, 'x'] },
    })
  })
  it.each(['not json', '42', 'null', '{"v":2,"s":"x","p":1}', '{"v":1,"p":1}', '{"v":1,"s":"x"}'])(
    'rejects foreign data %j',
    (raw) => {
      expect(decodeMessage(raw)).toBeUndefined()
    },
  )
  it('drops __proto__ keys', () => {
    const decoded = decodeMessage('{"v":1,"s":"x","p":{"__proto__":{"polluted":true}}}')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(decoded?.payload)).toBe(Object.prototype)
  })
})

describe('bus in memory mode', () => {
  it('delivers to subscribers of the same instance when includeSelf is set, isolating listener errors', async () => {
    const logger = collectingLogger()
    const kit = createRedkit({ url: 'memory', logger })
    const got: unknown[] = []
    await kit.bus.subscribe(
      'c',
      () => {
        throw new Error('listener bug')
      },
      { includeSelf: true },
    )
    await kit.bus.subscribe('c', (payload) => got.push(payload), { includeSelf: true })
    await kit.bus.subscribe('c', () => got.push('not-self-only'))
    await kit.bus.publish('c', { hello: 1 })
    await waitFor(() => got.length === 1)
    expect(got).toEqual([{ hello: 1 }])
    expect(logger.errors).toContain('redkit: bus listener failed')
    await kit.close()
  })
})

describe('bus on Redis', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(() => stopAllServers())

  it('delivers across instances, ignores own messages by default, and isolates failing listeners', async () => {
    const logger = collectingLogger()
    const a = createRedkit({ url: server.url, app: 'bus' })
    const b = createRedkit({ url: server.url, app: 'bus', logger })
    const seenByA: unknown[] = []
    const seenByB: { payload: unknown; fromSelf: boolean; source: string }[] = []
    await a.bus.subscribe('events', (payload) => seenByA.push(payload))
    await b.bus.subscribe('events', async () => {
      throw new Error('async listener bug')
    })
    await b.bus.subscribe('events', () => {
      throw new Error('sync listener bug')
    })
    await b.bus.subscribe('events', (payload, meta) => seenByB.push({ payload, ...meta }))
    await a.bus.publish('events', { n: 1 })
    await waitFor(() => seenByB.length === 1, { message: 'B did not receive' })
    expect(seenByB[0]).toMatchObject({ payload: { n: 1 }, fromSelf: false, source: a.bus.id })
    await waitFor(() => logger.errors.length === 2, { message: 'listener errors were not logged' })
    // A's own message came back over Redis and was ignored; a later message from B proves delivery order.
    await b.bus.publish('events', 'from-b')
    await waitFor(() => seenByA.length === 1)
    expect(seenByA).toEqual(['from-b'])
    await Promise.all([a.close(), b.close()])
  })

  it('does not mix apps with different prefixes, and ignores malformed messages', async () => {
    const shop = createRedkit({ url: server.url, app: 'shop' })
    const blog = createRedkit({ url: server.url, app: 'blog' })
    const got: unknown[] = []
    await shop.bus.subscribe('x', (p) => got.push(p))
    await server.cli('PUBLISH', 'shop:bus:x', 'garbage')
    await blog.bus.publish('x', 'wrong app')
    await createRedkit({ url: server.url, app: 'shop' }).bus.publish('x', 'right app')
    await waitFor(() => got.length === 1)
    expect(got).toEqual(['right app'])
    await Promise.all([shop.close(), blog.close()])
  })

  it('announces a reconnect and resubscribes after the subscriber connection is killed', async () => {
    const a = createRedkit({ url: server.url, app: 'rc' })
    const b = createRedkit({ url: server.url, app: 'rc' })
    let reconnects = 0
    b.bus.onReconnect(() => reconnects++)
    const got: unknown[] = []
    await b.bus.subscribe('inv', (p) => got.push(p))
    await server.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
    await waitFor(() => reconnects === 1, { message: 'no reconnect event' })
    await waitFor(
      async () => {
        await a.bus.publish('inv', 'after')
        return got.includes('after')
      },
      { message: 'not resubscribed after reconnect' },
    )
    await Promise.all([a.close(), b.close()])
  })

  it('unsubscribe stops delivery', async () => {
    const a = createRedkit({ url: server.url, app: 'unsub' })
    const b = createRedkit({ url: server.url, app: 'unsub' })
    const got: unknown[] = []
    const off = await b.bus.subscribe('u', (p) => got.push(p))
    const keep: unknown[] = []
    await b.bus.subscribe('u2', (p) => keep.push(p))
    await off()
    await a.bus.publish('u', 'dropped')
    await a.bus.publish('u2', 'kept')
    await waitFor(() => keep.length === 1)
    expect(got).toEqual([])
    await Promise.all([a.close(), b.close()])
  })
})
