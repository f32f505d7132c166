// The node:diagnostics_channel channels redkit publishes on: one tracing channel per traced operation and
// a plain channel for breaker changes. Publishing costs one property read per call when no one listens.

import diagnosticsChannel, {
  type Channel,
  type TracingChannel,
  type TracingChannelCollection,
} from 'node:diagnostics_channel'
import type { BreakerState } from '../connection/circuit-breaker.js'

/**
 * The names of the channels redkit publishes on. Subscribe with `node:diagnostics_channel`: the traced
 * operations through `tracingChannel(name)` (start / end / asyncStart / asyncEnd / error, with a context
 * object described by the types below), the breaker through `subscribe(name, listener)`.
 *
 * Nothing is built or published while a channel has no subscriber. A context never holds a cached
 * value, session data, a raw session id or a rate-limit key.
 *
 * @example
 * import { tracingChannel } from 'node:diagnostics_channel'
 * import { tracingChannels } from 'redkit'
 * const started = new WeakMap<object, number>()
 * tracingChannel(tracingChannels.cacheGetOrSet).subscribe({
 *   start: (context) => started.set(context, performance.now()),
 *   end() {},
 *   asyncStart() {},
 *   asyncEnd: (context) => log.debug({ ...context, ms: performance.now() - started.get(context)! }),
 *   error() {},
 * })
 */
export const tracingChannels = {
  /** `cache.get(key)`. Context: {@link CacheTraceContext} with `outcome`. */
  cacheGet: 'redkit:cache:get',
  /** `cache.set(key, value)`. Context: {@link CacheTraceContext}. */
  cacheSet: 'redkit:cache:set',
  /** `cache.getOrSet(key, factory)`. Context: {@link CacheTraceContext} with `outcome`. */
  cacheGetOrSet: 'redkit:cache:getOrSet',
  /**
   * `cache.delete(key)`, and `kit.invalidateTags(tags)` / `cache.invalidateTags(tags)`.
   * Context: {@link CacheInvalidateTraceContext}.
   */
  cacheInvalidate: 'redkit:cache:invalidate',
  /** `limiter.consume(key, cost)`. Context: {@link RateLimitTraceContext}. */
  limiterConsume: 'redkit:limiter:consume',
  /** The session store's `get(sid)`. Context: {@link SessionTraceContext} with `found`. */
  sessionGet: 'redkit:session:get',
  /** The session store's `set(sid, session)`. Context: {@link SessionTraceContext}. */
  sessionSet: 'redkit:session:set',
  /** A plain channel: the Redis circuit breaker changed state. Message: {@link BreakerChannelMessage}. */
  breaker: 'redkit:breaker',
} as const

/** The name of one of redkit's channels. */
export type TracingChannelName = (typeof tracingChannels)[keyof typeof tracingChannels]

/**
 * How a cache read was answered: `hit` (fresh value), `stale` (served within the swr window while it
 * refreshes), `grace` (past its expiry, served because Redis or the factory failed), `miss` (not in
 * the cache: the factory ran, or the caller shared a factory call already running).
 */
export type CacheOutcome = 'hit' | 'stale' | 'grace' | 'miss'

/** Fields every redkit trace context carries. */
export interface TraceContextBase {
  /** The key prefix of the redkit instance (`shop:prod:`): tells instances in one process apart. */
  prefix: string
  /** Set by Node (`tracePromise`) when the call rejects. */
  error?: unknown
}

/** Context of `redkit:cache:get`, `redkit:cache:set` and `redkit:cache:getOrSet`. */
export interface CacheTraceContext extends TraceContextBase {
  /** The cache namespace (`kit.cache(namespace)`). */
  namespace: string
  /** The key relative to the cache (`product:42`), as encoded; never the value. */
  key: string
  /** Set on reads once known. */
  outcome?: CacheOutcome
  /** True when the read was answered from the in-process tier. */
  l1?: boolean
}

/** Context of `redkit:cache:invalidate`. */
export interface CacheInvalidateTraceContext extends TraceContextBase {
  /** `delete`: one key of one cache. `tags`: `kit.invalidateTags`, every cache. */
  kind: 'delete' | 'tags'
  /** The cache namespace (`delete` only). */
  namespace?: string
  /** The key relative to the cache (`delete` only). */
  key?: string
  /** The tags as given (`tags` only). */
  tags?: readonly string[]
  /** Whether the key existed (`delete`, once it resolved). */
  existed?: boolean
}

/** Context of `redkit:limiter:consume`. The client key (an IP, a user id) is left out on purpose. */
export interface RateLimitTraceContext extends TraceContextBase {
  /** The limiter's name (`kit.limiter(name)`). */
  limiter: string
  /** Units asked for. */
  cost: number
  /** Set once decided. */
  allowed?: boolean
  /** Units left after the decision. */
  remaining?: number
  /** True when the key is blocked (`blockFor` or `block()`). */
  blocked?: boolean
  /** Set by Node to the `RateLimitResult` once decided. */
  result?: unknown
}

/** Context of `redkit:session:get` and `redkit:session:set`. */
export interface SessionTraceContext extends TraceContextBase {
  /** The session store's `prefix` option (`sess`). */
  store: string
  /**
   * 12 characters of a hash of the session id: enough to follow one session through traces, useless
   * as a cookie. The session id itself is a credential and never published.
   */
  sessionId: string
  /** `get` only: whether a session was found. */
  found?: boolean
}

/** Message of the `redkit:breaker` channel. */
export interface BreakerChannelMessage {
  /** The key prefix of the redkit instance. */
  prefix: string
  from: BreakerState
  to: BreakerState
  /** The failure that opened the breaker, when it opened (scrubbed of credentials, like every redkit error). */
  error?: unknown
}

function tracing<C extends object>(name: string): TracingChannel<C, C> {
  const channel = diagnosticsChannel.tracingChannel<C, C>(name)
  // TracingChannel#hasSubscribers arrived in Node 20.13; older 20.x get the same getter on the instance.
  if (!('hasSubscribers' in channel)) {
    const { start, end, asyncStart, asyncEnd, error } = channel as TracingChannelCollection
    Object.defineProperty(channel, 'hasSubscribers', {
      get: () =>
        start.hasSubscribers ||
        end.hasSubscribers ||
        asyncStart.hasSubscribers ||
        asyncEnd.hasSubscribers ||
        error.hasSubscribers,
    })
  }
  return channel
}

/** @internal the channel objects features publish on (module-level: held strongly, created once). */
export const cacheGetChannel = tracing<CacheTraceContext>(tracingChannels.cacheGet)
/** @internal */
export const cacheSetChannel = tracing<CacheTraceContext>(tracingChannels.cacheSet)
/** @internal */
export const cacheGetOrSetChannel = tracing<CacheTraceContext>(tracingChannels.cacheGetOrSet)
/** @internal */
export const cacheInvalidateChannel = tracing<CacheInvalidateTraceContext>(tracingChannels.cacheInvalidate)
/** @internal */
export const limiterConsumeChannel = tracing<RateLimitTraceContext>(tracingChannels.limiterConsume)
/** @internal */
export const sessionGetChannel = tracing<SessionTraceContext>(tracingChannels.sessionGet)
/** @internal */
export const sessionSetChannel = tracing<SessionTraceContext>(tracingChannels.sessionSet)
/** @internal */
export const breakerChannel: Channel<BreakerChannelMessage, BreakerChannelMessage> =
  diagnosticsChannel.channel(tracingChannels.breaker) as Channel<BreakerChannelMessage, BreakerChannelMessage>

/**
 * `tracePromise` without `context.result`: Node's would store what `work` resolves with there, and a
 * cached value or session data must not reach subscribers (they may export contexts as they are). Same
 * events in the same order, and the same store binding (`start.runStores`), so async context propagates.
 * @internal
 */
export function traceWithoutResult<C extends { error?: unknown }, T>(
  channel: TracingChannel<C, C>,
  context: C,
  work: () => Promise<T>,
): Promise<T> {
  const { start, end, asyncStart, asyncEnd, error } = channel as unknown as TracingChannelCollection<C, C>
  return start.runStores(context, () => {
    try {
      return work().then(
        (value) => {
          asyncStart.publish(context)
          asyncEnd.publish(context)
          return value
        },
        (failure: unknown) => {
          context.error = failure
          error.publish(context)
          asyncStart.publish(context)
          asyncEnd.publish(context)
          throw failure
        },
      )
    } catch (failure) {
      context.error = failure
      error.publish(context)
      throw failure
    } finally {
      end.publish(context)
    }
  })
}
