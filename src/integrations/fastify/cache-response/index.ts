// Fastify side of HTTP response caching: a preHandler/onSend hook pair for a route's options. The
// preHandler answers hits; onSend captures the payload of a miss; a stale entry is refreshed with inject.

import { randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest, RouteGenericInterface } from 'fastify'
import type { Cache } from '../../../cache/cache.js'
import {
  type CachedResponse,
  etagMatches,
  type HeaderMap,
  mergeVary,
} from '../../../cache/http/cached-response.js'
import {
  type CachePlan,
  type CacheStatus,
  type HttpCacheOptions,
  HttpResponseCache,
  type ResponseTarget,
} from '../../../cache/http/http-response-cache.js'

/** Options of the Fastify {@link cacheResponse} hooks; `Route` types `req.params`, `req.query`... */
export interface CacheResponseOptions<Route extends RouteGenericInterface = RouteGenericInterface>
  extends HttpCacheOptions<FastifyRequest<Route>> {}

/** The hooks {@link cacheResponse} returns: spread them into a route's options. */
export interface CacheResponseHooks<Route extends RouteGenericInterface = RouteGenericInterface> {
  /** Answers from the cache, or lets the handler run (and be captured). */
  preHandler: (request: FastifyRequest<Route>, reply: FastifyReply) => Promise<unknown>
  /** Captures the serialized payload of a response to store. */
  onSend: (request: FastifyRequest<Route>, reply: FastifyReply, payload: unknown) => Promise<unknown>
}

/** Marks the in-process request that refreshes a stale entry; the value is a one-time random token. */
const REFRESH_HEADER = 'x-redkit-refresh'
const EMPTY = Buffer.alloc(0)

/** A response being captured: the request's own (a miss) or an injected refresh. */
interface Capture {
  plan: CachePlan
  before: HeaderMap
  resolve: (record: CachedResponse | undefined) => void
  /** An injected refresh: its response goes nowhere, so it gets no headers of ours. */
  refresh: boolean
}

/**
 * Caches the GET and HEAD responses of a route in `cache`, with the rules of the Express middleware
 * (see docs/http-caching.md): strong ETag and 304, the cache's Cache-Control, `X-Cache`, single flight
 * per key, authenticated requests never shared unless `key` scopes them or `shared` is set, non-2xx,
 * `Set-Cookie` and `no-store` responses not stored. Within the cache's `swr` a stale entry is served
 * at once and refreshed by replaying the request in process (`app.inject`, through the route's hooks).
 *
 * @example
 * import { cacheResponse } from 'redkit/fastify'
 * const pages = kit.cache('vendor-pages', kit.tiers.list)
 * app.get<{ Params: { vendorId: string } }>('/vendors/:vendorId/products', {
 *   ...cacheResponse<{ Params: { vendorId: string } }>(pages, {
 *     tags: (req) => [`vendor:${req.params.vendorId}`],
 *   }),
 * }, listProducts)
 * @throws InvalidOptionsError when an option is invalid
 */
export function cacheResponse<Route extends RouteGenericInterface = RouteGenericInterface>(
  cache: Cache,
  options: CacheResponseOptions<Route> = {},
): CacheResponseHooks<Route> {
  const core = new HttpResponseCache<FastifyRequest<Route>>(cache, options)
  const captures = new WeakMap<FastifyRequest<Route>, Capture>()
  const refreshes = new Map<string, { plan: CachePlan; resolve: Capture['resolve'] }>()
  const state = { core, captures, refreshes }
  return {
    preHandler(request, reply) {
      const token = request.headers[REFRESH_HEADER]
      if (typeof token === 'string') {
        const refresh = refreshes.get(token)
        if (refresh !== undefined) {
          refreshes.delete(token)
          captures.set(request, { plan: refresh.plan, before: {}, resolve: refresh.resolve, refresh: true })
          return Promise.resolve()
        }
      }
      return new Promise((resolve, reject) => {
        core.handle(request, request.url, new FastifyTarget(state, request, reply, resolve, reject))
      })
    },
    async onSend(request, reply, payload) {
      const capture = captures.get(request)
      if (capture === undefined) return payload
      captures.delete(request)
      return finish(core, capture, request, reply, payload)
    },
  }
}

interface State<Route extends RouteGenericInterface> {
  core: HttpResponseCache<FastifyRequest<Route>>
  captures: WeakMap<FastifyRequest<Route>, Capture>
  refreshes: Map<string, { plan: CachePlan; resolve: Capture['resolve'] }>
}

/** Stores what onSend captured and gives the response its cache headers (or turns it into a 304). */
function finish<Route extends RouteGenericInterface>(
  core: HttpResponseCache<FastifyRequest<Route>>,
  capture: Capture,
  request: FastifyRequest<Route>,
  reply: FastifyReply,
  payload: unknown,
): unknown {
  const body =
    typeof payload === 'string'
      ? Buffer.from(payload, 'utf8')
      : Buffer.isBuffer(payload)
        ? payload
        : payload === undefined || payload === null
          ? EMPTY
          : undefined
  let record: CachedResponse | undefined
  if (body !== undefined) {
    try {
      record = core.finish(
        { status: reply.statusCode, headers: reply.getHeaders(), before: capture.before, body },
        capture.plan,
      )
    } catch {
      record = undefined
    }
  }
  capture.resolve(record)
  if (capture.refresh) return payload
  if (core.statusHeader !== undefined) reply.header(core.statusHeader, 'MISS')
  if (record === undefined) return payload
  reply.header('etag', record.etag)
  if (core.ownCacheControl(record, reply.hasHeader('cache-control'))) {
    reply.header('cache-control', core.cacheControl)
  }
  if (core.varyNames.length > 0) reply.header('vary', mergeVary(reply.getHeader('vary'), core.varyNames))
  const ifNoneMatch = request.headers['if-none-match']
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, record.etag)) {
    reply.code(304)
    reply.removeHeader('content-type')
    reply.removeHeader('content-length')
    return null
  }
  return payload
}

/** One request as the core sees it. */
class FastifyTarget<Route extends RouteGenericInterface> implements ResponseTarget {
  readonly #state: State<Route>
  readonly #request: FastifyRequest<Route>
  readonly #reply: FastifyReply
  readonly #resolve: (value: unknown) => void
  readonly #reject: (error: unknown) => void

  constructor(
    state: State<Route>,
    request: FastifyRequest<Route>,
    reply: FastifyReply,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ) {
    this.#state = state
    this.#request = request
    this.#reply = reply
    this.#resolve = resolve
    this.#reject = reject
  }

  pass(status: CacheStatus | undefined): void {
    const header = this.#state.core.statusHeader
    if (status !== undefined && header !== undefined) this.#reply.header(header, status)
    this.#resolve(undefined)
  }

  fail(error: unknown): void {
    this.#reject(error)
  }

  serve(record: CachedResponse, status: CacheStatus): void {
    const core = this.#state.core
    const reply = this.#reply
    if (core.varyNames.length > 0) reply.header('vary', mergeVary(reply.getHeader('vary'), core.varyNames))
    const own = core.ownCacheControl(record, reply.hasHeader('cache-control'))
    const ifNoneMatch = this.#request.headers['if-none-match']
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, record.etag)) {
      reply
        .code(304)
        .headers(core.headersFor(record, status, own, true))
        .send()
    } else {
      reply.code(record.status).headers(core.headersFor(record, status, own, false))
      reply.send(record.status === 204 ? undefined : core.bodyOf(record))
    }
    // An async hook that replied returns the reply, so Fastify does not run the handler.
    this.#resolve(reply)
  }

  capture(plan: CachePlan): Promise<CachedResponse | undefined> {
    const { captures } = this.#state
    const request = this.#request
    return new Promise((resolve) => {
      const capture: Capture = { plan, before: this.#reply.getHeaders(), resolve, refresh: false }
      captures.set(request, capture)
      // A reply that never reaches onSend (client gone, hijacked reply) releases the waiters.
      this.#reply.raw.once('close', () => {
        if (captures.get(request) !== capture) return
        captures.delete(request)
        resolve(undefined)
      })
      this.#resolve(undefined)
    })
  }

  refresh(plan: CachePlan): Promise<CachedResponse | undefined> {
    const { refreshes } = this.#state
    const request = this.#request
    return new Promise((resolve) => {
      const token = randomUUID()
      refreshes.set(token, { plan, resolve })
      const headers: Record<string, string | string[] | undefined> = { ...request.headers }
      // A full answer, not a 304: the refresh stores the body.
      delete headers['if-none-match']
      delete headers['if-modified-since']
      headers[REFRESH_HEADER] = token
      const done = () => {
        refreshes.delete(token)
        resolve(undefined)
      }
      request.server
        .inject({ method: request.method as 'GET' | 'HEAD', url: request.url, headers })
        .then(done, done)
    })
  }
}
