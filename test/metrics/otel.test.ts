// The OpenTelemetry example (examples/otel/tracing.ts, imported as is) on the embedded store and a real
// redis-server: span names, attributes, nesting under the caller's active span, and error status.

import { AsyncLocalStorage } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'
import { type Context, type ContextManager, context, ROOT_CONTEXT, SpanStatusCode } from '@opentelemetry/api'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { traceRedkit } from '../../examples/otel/tracing.js'
import { createRedkit, type Redkit } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers } from '../harness/index.js'

/**
 * What `@opentelemetry/context-async-hooks`' AsyncLocalStorageContextManager does, in a few lines (that
 * package is not a dependency here): the active context follows async calls.
 */
class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>()
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    active: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(active, () => fn.apply(thisArg, args))
  }
  bind<T>(active: Context, target: T): T {
    if (typeof target !== 'function') return target
    const bound = (...args: unknown[]) =>
      this.with(active, () => (target as (...a: unknown[]) => unknown)(...args))
    return bound as T
  }
  enable(): this {
    return this
  }
  disable(): this {
    this.#storage.disable()
    return this
  }
}

let server: RedisServer
const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const tracer = provider.getTracer('redkit-test')
let stopTracing: () => void

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalContextManager())
  server = await startRedis()
})
afterAll(async () => {
  context.disable()
  await provider.shutdown()
  await stopAllServers()
})
beforeEach(() => {
  exporter.reset()
  stopTracing = traceRedkit({ tracer })
})
const kits: Redkit[] = []
afterEach(async () => {
  stopTracing()
  await Promise.all(kits.splice(0).map((kit) => kit.close()))
})

const named = (name: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((span) => span.name === name)

describe.each([
  ['memory', () => 'memory'],
  ['redis-server', () => server.url],
])('the OpenTelemetry example on %s', (_name, url) => {
  function kit(): Redkit {
    const created = createRedkit({ url: url(), app: `otel${randomUUID().slice(0, 8)}` })
    kits.push(created)
    return created
  }

  it('getOrSet spans carry the namespace, the result and db.system; keys only when asked', async () => {
    const products = kit().cache('products', { ttl: '1h', l1: { max: 100 } })
    await products.getOrSet('p:1', () => ({ id: 1 }))
    await products.getOrSet('p:1', () => ({ id: 1 }))
    const spans = named('redkit cache.getOrSet')
    expect(spans.map((span) => span.attributes)).toEqual([
      { 'db.system': 'redis', 'redkit.namespace': 'products', 'redkit.result': 'miss' },
      { 'db.system': 'redis', 'redkit.namespace': 'products', 'redkit.result': 'hit', 'redkit.l1': true },
    ])
    expect(spans.every((span) => span.status.code === SpanStatusCode.UNSET)).toBe(true)
    // The factory's write is a span of its own only when it goes through the public API; getOrSet's is internal.
    expect(named('redkit cache.set')).toEqual([])

    stopTracing()
    stopTracing = traceRedkit({ tracer, keys: true })
    await products.get('p:1')
    expect(named('redkit cache.get')[0]!.attributes).toMatchObject({
      'redkit.key': 'p:1',
      'redkit.result': 'hit',
    })
  })

  it('spans are children of the span active at the call, and siblings of each other', async () => {
    const k = kit()
    const products = k.cache('products')
    const api = k.limiter('api', { limit: 10, window: '1m' })
    let requestSpanId = ''
    let traceId = ''
    await tracer.startActiveSpan('GET /products/:id', async (request) => {
      requestSpanId = request.spanContext().spanId
      traceId = request.spanContext().traceId
      await api.consume('user:1')
      await products.getOrSet(['product', 7], () => 'seven')
      request.end()
    })
    await products.get(['product', 7]) // outside any span: a root span
    const [consume] = named('redkit limiter.consume')
    const [getOrSet] = named('redkit cache.getOrSet')
    const [outside] = named('redkit cache.get')
    for (const child of [consume!, getOrSet!]) {
      expect(child.parentSpanContext?.spanId).toBe(requestSpanId)
      expect(child.spanContext().traceId).toBe(traceId)
    }
    expect(consume!.attributes).toMatchObject({ 'redkit.limiter': 'api', 'redkit.result': 'allowed' })
    expect(outside!.parentSpanContext).toBeUndefined()
    expect(outside!.spanContext().traceId).not.toBe(traceId)
  })

  it('a factory that throws makes an ERROR span with the exception recorded', async () => {
    const products = kit().cache('products')
    await expect(
      products.getOrSet('broken', () => {
        throw new Error('database down')
      }),
    ).rejects.toThrow('database down')
    const [span] = named('redkit cache.getOrSet')
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'database down' })
    expect(span!.events.map((event) => event.name)).toEqual(['exception'])
    expect(span!.events[0]!.attributes).toMatchObject({ 'exception.message': 'database down' })
  })

  it('session and invalidation spans name what they did without the session id', async () => {
    const k = kit()
    const store = k.sessions({ secret: 'a session key secret of at least thirty-two bytes' })
    const sid = randomUUID()
    await store.set(sid, { cookie: { maxAge: 60_000 } } as never)
    await store.get(sid)
    await k.invalidateTags(['vendor:42'])
    const [get] = named('redkit session.get')
    expect(get!.attributes).toMatchObject({ 'redkit.session.store': 'sess', 'redkit.result': 'found' })
    expect(JSON.stringify(exporter.getFinishedSpans().map((span) => span.attributes))).not.toContain(sid)
    expect(named('redkit session.set')).toHaveLength(1)
    expect(named('redkit cache.invalidate')[0]!.attributes).toMatchObject({
      'redkit.invalidate': 'tags',
      'redkit.tags': ['vendor:42'],
    })
  })
})
