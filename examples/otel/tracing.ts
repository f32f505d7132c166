// Example: redkit's tracing channels as OpenTelemetry spans. Copy it into an app that has
// @opentelemetry/api and an SDK set up, and call traceRedkit() once at startup.

import { type TracingChannelSubscribers, tracingChannel } from 'node:diagnostics_channel'
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import {
  type CacheInvalidateTraceContext,
  type CacheTraceContext,
  type RateLimitTraceContext,
  type SessionTraceContext,
  tracingChannels,
} from '../../src/index.js'

/** Options of {@link traceRedkit}. */
export interface RedkitTracingOptions {
  /** The tracer spans come from. @default trace.getTracer('redkit') */
  tracer?: Tracer
  /** Record cache keys as `redkit.key` (they may hold user ids or e-mail addresses). @default false */
  keys?: boolean
}

/** One traced redkit operation: its channel, its span name, and the attributes read off its context. */
interface Operation<C extends object> {
  channel: string
  span: string
  /** Attributes known when the call starts. */
  opening(context: C): Attributes
  /** Attributes known once it settled (the outcome). */
  closing(context: C): Attributes
}

/**
 * Subscribes to redkit's tracing channels and turns every traced call into a span named
 * `redkit <operation>` (`redkit cache.getOrSet`), child of the span active where the call was made.
 * A rejected call sets the span's status to ERROR and records the exception. Returns the function that
 * unsubscribes.
 *
 * @example
 * const stop = traceRedkit({ tracer: trace.getTracer('shop') })
 * await tracer.startActiveSpan('GET /products/:id', async (span) => {
 *   await products.getOrSet(id, load) // span 'redkit cache.getOrSet', child of 'GET /products/:id'
 *   span.end()
 * })
 */
export function traceRedkit(options: RedkitTracingOptions = {}): () => void {
  const tracer = options.tracer ?? trace.getTracer('redkit')
  const key = (k: string | undefined): Attributes =>
    options.keys && k !== undefined ? { 'redkit.key': k } : {}
  const cache = (name: string): Operation<CacheTraceContext> => ({
    channel: name,
    span: `redkit ${name.slice('redkit:'.length).replace(':', '.')}`,
    opening: (c) => ({ 'redkit.namespace': c.namespace, ...key(c.key) }),
    closing: (c) => ({
      ...(c.outcome === undefined ? {} : { 'redkit.result': c.outcome }),
      ...(c.l1 === undefined ? {} : { 'redkit.l1': c.l1 }),
    }),
  })
  const operations = [
    cache(tracingChannels.cacheGetOrSet),
    cache(tracingChannels.cacheGet),
    cache(tracingChannels.cacheSet),
    {
      channel: tracingChannels.cacheInvalidate,
      span: 'redkit cache.invalidate',
      opening: (c) => ({
        'redkit.invalidate': c.kind,
        ...(c.namespace === undefined ? {} : { 'redkit.namespace': c.namespace }),
        ...(c.tags === undefined ? {} : { 'redkit.tags': [...c.tags] }),
        ...key(c.key),
      }),
      closing: (c) => (c.existed === undefined ? {} : { 'redkit.existed': c.existed }),
    } satisfies Operation<CacheInvalidateTraceContext>,
    {
      channel: tracingChannels.limiterConsume,
      span: 'redkit limiter.consume',
      opening: (c) => ({ 'redkit.limiter': c.limiter, 'redkit.cost': c.cost }),
      closing: (c) =>
        c.allowed === undefined
          ? {}
          : { 'redkit.result': c.allowed ? 'allowed' : 'rejected', 'redkit.remaining': c.remaining ?? 0 },
    } satisfies Operation<RateLimitTraceContext>,
    ...[tracingChannels.sessionGet, tracingChannels.sessionSet].map(
      (channel): Operation<SessionTraceContext> => ({
        channel,
        span: channel === tracingChannels.sessionGet ? 'redkit session.get' : 'redkit session.set',
        // The session id in the context is already a hash: the id itself never reaches subscribers.
        opening: (c) => ({ 'redkit.session.store': c.store, 'redkit.session.id': c.sessionId }),
        closing: (c) => (c.found === undefined ? {} : { 'redkit.result': c.found ? 'found' : 'missing' }),
      }),
    ),
  ]
  const stops = operations.map((operation) => follow(tracer, operation as Operation<object>))
  return () => {
    for (const stop of stops) stop()
  }
}

function follow<C extends object & { error?: unknown }>(tracer: Tracer, operation: Operation<C>): () => void {
  const spans = new WeakMap<object, Span>()
  const finish = (message: C) => {
    const span = spans.get(message)
    if (span === undefined) return
    spans.delete(message)
    span.setAttributes(operation.closing(message))
    if (message.error !== undefined) {
      const error = message.error instanceof Error ? message.error : new Error(String(message.error))
      span.recordException(error)
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
    }
    span.end()
  }
  const subscribers: TracingChannelSubscribers<C> = {
    start(message) {
      // `start` runs synchronously in the caller: the active context is the caller's.
      const span = tracer.startSpan(
        operation.span,
        { kind: SpanKind.CLIENT, attributes: { 'db.system': 'redis', ...operation.opening(message) } },
        context.active(),
      )
      spans.set(message, span)
    },
    // A call that threw before returning a promise ends here; every other one at asyncEnd.
    end(message) {
      if (message.error !== undefined) finish(message)
    },
    asyncStart() {},
    asyncEnd: finish,
    error() {},
  }
  const channel = tracingChannel<C, C>(operation.channel)
  channel.subscribe(subscribers)
  return () => channel.unsubscribe(subscribers)
}
