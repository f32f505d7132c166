// Express middleware caching GET and HEAD responses in a redkit cache: it captures what the handler sends
// (res.send, res.json, res.end, res.write) and answers hits, stale entries and conditional requests itself.

import type { OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
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

/** Options of the Express {@link cacheResponse} middleware. */
export interface CacheResponseOptions extends HttpCacheOptions<Request> {}

/**
 * Caches the GET and HEAD responses of the routes it guards in `cache` (give it a cache of its own:
 * `kit.cache('pages', kit.tiers.list)`). Stores 200, 203 and 204 responses with their content type,
 * body, a strong ETag and the headers the handler set; answers `If-None-Match` with 304; sends the
 * cache's Cache-Control and an `X-Cache` header (`HIT`, `STALE`, `MISS`, `BYPASS`).
 *
 * Responses are never shared across users: a request with an `Authorization` header, a session cookie
 * or `req.user` bypasses the cache unless `key` scopes the entry (to the user or tenant) or `shared`
 * says the response is the same for everyone. Not stored: non-2xx, `Set-Cookie`, `Cache-Control:
 * no-store` (and `private` on a shared entry) set by the handler, bodies over `maxBodySize`.
 *
 * Concurrent requests for a missing entry run the handler once: the others wait for its response.
 * Within the cache's `swr`, a stale entry is served at once and the handler runs again after it, in the
 * background, to refresh it. When Redis is unreachable the handler simply runs.
 *
 * Put it after compression (compressed bodies are not stored) and authentication (so `req.user` is set).
 *
 * @example
 * import { cacheResponse, invalidateOn } from 'redkit/express'
 * const pages = kit.cache('vendor-pages', kit.tiers.list)
 * app.get('/vendors/:vendorId/products',
 *   cacheResponse(pages, { tags: (req) => [`vendor:${req.params.vendorId}`] }), listProducts)
 * app.post('/vendors/:vendorId/products',
 *   invalidateOn(kit, (req) => [`vendor:${req.params.vendorId}`]), createProduct)
 * @throws InvalidOptionsError when an option is invalid
 */
export function cacheResponse(cache: Cache, options: CacheResponseOptions = {}): RequestHandler {
  const core = new HttpResponseCache<Request>(cache, options)
  return (req: Request, res: Response, next: NextFunction): void => {
    core.handle(req, req.originalUrl, new ExpressTarget(core, req, res, next))
  }
}

/** One request as the core sees it. */
class ExpressTarget implements ResponseTarget {
  readonly core: HttpResponseCache<Request>
  readonly req: Request
  readonly res: Response
  readonly next: NextFunction

  constructor(core: HttpResponseCache<Request>, req: Request, res: Response, next: NextFunction) {
    this.core = core
    this.req = req
    this.res = res
    this.next = next
  }

  pass(status: CacheStatus | undefined): void {
    const header = this.core.statusHeader
    if (status !== undefined && header !== undefined) this.res.setHeader(header, status)
    this.next()
  }

  fail(error: unknown): void {
    this.next(error)
  }

  serve(record: CachedResponse, status: CacheStatus): void {
    const { core, req, res } = this
    if (core.varyNames.length > 0) res.setHeader('Vary', mergeVary(res.getHeader('vary'), core.varyNames))
    const own = core.ownCacheControl(record, res.hasHeader('cache-control'))
    const ifNoneMatch = req.headers['if-none-match']
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, record.etag)) {
      res.writeHead(304, core.headersFor(record, status, own, true))
      res.end()
      return
    }
    res.writeHead(record.status, core.headersFor(record, status, own, false))
    if (req.method === 'HEAD' || record.status === 204) res.end()
    else res.end(core.bodyOf(record))
  }

  capture(plan: CachePlan): Promise<CachedResponse | undefined> {
    return new Promise((resolve) => new ResponseCapture(this, plan, resolve, false).start())
  }

  refresh(plan: CachePlan): Promise<CachedResponse | undefined> {
    return new Promise((resolve) => new ResponseCapture(this, plan, resolve, true).start())
  }
}

type Chunk = string | Uint8Array
type Callback = (error?: Error | null) => void
type WriteHead = (
  statusCode: number,
  reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
  headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
) => unknown
type Write = (chunk: Chunk, encoding?: BufferEncoding | Callback, callback?: Callback) => boolean
type End = (chunk?: Chunk | Callback, encoding?: BufferEncoding | Callback, callback?: Callback) => unknown

/** The members of `res` a capture replaces while it runs. */
interface Replaceable {
  writeHead: WriteHead
  write: Write
  end: End
  flushHeaders: () => void
  send: (body?: unknown) => unknown
}

/**
 * Captures one handler run by replacing the writing methods of `res` (they are what res.send, res.json,
 * streams and res.end all end in). In the request's own run the response is buffered, then sent with the
 * ETag, Cache-Control and X-Cache (or as 304) when it ends; a response that turns out too large or is an
 * event stream is let through as it comes. A detached run (the background refresh after a stale entry
 * was sent) writes nothing: the response has already gone, so the headers live in a private map.
 */
class ResponseCapture {
  readonly #target: ExpressTarget
  readonly #plan: CachePlan
  readonly #resolve: (record: CachedResponse | undefined) => void
  readonly #detached: boolean
  readonly #res: Response
  /** `res` again, typed as the methods a capture swaps. */
  readonly #slots: Replaceable
  #saved: Replaceable | undefined
  #before: HeaderMap = {}
  #chunks: Buffer[] = []
  #size = 0
  /** The body given to res.send: Express drops it before res.end on HEAD, but the entry needs it. */
  #sent: Buffer | undefined
  #done = false
  #tooLarge = false

  constructor(
    target: ExpressTarget,
    plan: CachePlan,
    resolve: (record: CachedResponse | undefined) => void,
    detached: boolean,
  ) {
    this.#target = target
    this.#plan = plan
    this.#resolve = resolve
    this.#detached = detached
    this.#res = target.res
    this.#slots = target.res as unknown as Replaceable
  }

  start(): void {
    const res = this.#slots
    this.#saved = {
      writeHead: res.writeHead,
      write: res.write,
      end: res.end,
      flushHeaders: res.flushHeaders,
      send: res.send,
    }
    if (this.#detached) this.#detach()
    else {
      this.#before = this.#res.getHeaders()
      this.#res.once('close', this.#onClose)
    }
    res.writeHead = this.#writeHead
    res.write = this.#write
    res.end = this.#end
    res.flushHeaders = noop
    if (this.#target.req.method === 'HEAD') res.send = this.#send
    this.#target.next()
  }

  #writeHead: WriteHead = (statusCode, reason, headers) => {
    const res = this.#res
    let given = headers
    if (typeof reason === 'string') res.statusMessage = reason
    else if (reason !== undefined) given = reason
    res.statusCode = statusCode
    if (Array.isArray(given)) {
      // Node's flat form: name, value, name, value...
      for (let i = 0; i + 1 < given.length; i += 2) res.appendHeader(String(given[i]), given[i + 1] as string)
    } else if (given !== undefined) {
      for (const name of Object.keys(given)) {
        const value = given[name]
        if (value !== undefined) res.setHeader(name, value)
      }
    }
    return res
  }

  #write: Write = (chunk, encoding, callback) => {
    let done = callback
    let charset: BufferEncoding | undefined
    if (typeof encoding === 'function') done = encoding
    else charset = encoding
    if (!this.#done) {
      if (!this.#detached && this.#size === 0 && isEventStream(this.#res)) {
        // A stream of events never ends: it cannot be buffered, nor stored.
        this.#passThrough()
        return this.#res.write(chunk, charset ?? 'utf8', done)
      }
      this.#add(chunk, charset)
    }
    if (done) process.nextTick(done)
    return true
  }

  #end: End = (chunk, encoding, callback) => {
    let done = callback
    let body = chunk
    let charset: BufferEncoding | undefined
    if (typeof body === 'function') {
      done = body
      body = undefined
    } else if (typeof encoding === 'function') done = encoding
    else charset = encoding
    if (body !== undefined && body !== null) this.#add(body, charset)
    if (this.#detached) this.#finishDetached(done)
    else this.#finish(done)
    return this.#res
  }

  #send = (body?: unknown): unknown => {
    if (typeof body === 'string') this.#sent = Buffer.from(body, 'utf8')
    else if (ArrayBuffer.isView(body)) this.#sent = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    return this.#saved!.send.call(this.#res, body)
  }

  #add(chunk: Chunk, encoding: BufferEncoding | undefined): void {
    if (this.#tooLarge) return
    const buffer =
      typeof chunk === 'string'
        ? Buffer.from(chunk, encoding ?? 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    this.#chunks.push(buffer)
    this.#size += buffer.length
    if (this.#size <= this.#maxBodySize) return
    if (this.#detached) {
      this.#tooLarge = true
      this.#chunks = []
    } else this.#passThrough()
  }

  get #maxBodySize(): number {
    return this.#target.core.maxBodySize
  }

  /** Stops capturing: what was buffered is written, the rest streams through, nothing is stored. */
  #passThrough(): void {
    this.#restore()
    this.#markMiss()
    const buffered = this.#chunks
    this.#chunks = []
    if (buffered.length > 0) this.#res.write(Buffer.concat(buffered))
    this.#settle(undefined)
  }

  /** The client went away before the handler answered: nothing to store, waiters run their own. */
  #onClose = (): void => {
    if (this.#done) return
    this.#restore()
    this.#settle(undefined)
  }

  #finish(callback: Callback | undefined): void {
    const { core, req } = this.#target
    const res = this.#res
    this.#restore()
    const body = this.#body()
    let record: CachedResponse | undefined
    try {
      record = core.finish(
        {
          status: res.statusCode,
          headers: res.getHeaders(),
          before: this.#before,
          body: req.method === 'HEAD' && this.#sent !== undefined ? this.#sent : body,
        },
        this.#plan,
      )
    } catch {
      record = undefined
    }
    this.#markMiss()
    const end = this.#slots.end
    if (record !== undefined) {
      res.setHeader('ETag', record.etag)
      if (core.ownCacheControl(record, res.hasHeader('cache-control'))) {
        res.setHeader('Cache-Control', core.cacheControl!)
      }
      if (core.varyNames.length > 0) res.setHeader('Vary', mergeVary(res.getHeader('vary'), core.varyNames))
      const ifNoneMatch = req.headers['if-none-match']
      if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, record.etag)) {
        res.statusCode = 304
        res.removeHeader('Content-Type')
        res.removeHeader('Content-Length')
        res.removeHeader('Transfer-Encoding')
        end.call(res, callback)
        this.#settle(record)
        return
      }
    }
    if (body.length === 0) end.call(res, callback)
    else end.call(res, body, callback)
    this.#settle(record)
  }

  #finishDetached(callback: Callback | undefined): void {
    const res = this.#res
    let record: CachedResponse | undefined
    if (!this.#tooLarge) {
      try {
        const body =
          this.#target.req.method === 'HEAD' && this.#sent !== undefined ? this.#sent : this.#body()
        record = this.#target.core.finish(
          { status: res.statusCode, headers: res.getHeaders(), before: {}, body },
          this.#plan,
        )
      } catch {
        record = undefined
      }
    }
    if (callback) process.nextTick(callback)
    this.#settle(record)
  }

  #body(): Buffer {
    const chunks = this.#chunks
    this.#chunks = []
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
  }

  #markMiss(): void {
    const header = this.#target.core.statusHeader
    if (header !== undefined && !this.#res.headersSent) this.#res.setHeader(header, 'MISS')
  }

  #restore(): void {
    const saved = this.#saved!
    const res = this.#slots
    res.writeHead = saved.writeHead
    res.write = saved.write
    res.end = saved.end
    res.flushHeaders = saved.flushHeaders
    res.send = saved.send
    this.#res.off('close', this.#onClose)
  }

  #settle(record: CachedResponse | undefined): void {
    if (this.#done) return
    this.#done = true
    this.#resolve(record)
  }

  /**
   * Prepares `res`, already answered with the stale entry, for a second handler run: headers go to a
   * private map (the real ones were sent), and the request loses its validators, so Express answers in
   * full instead of with a 304 of its own.
   */
  #detach(): void {
    const res = this.#res
    const req = this.#target.req
    delete req.headers['if-none-match']
    delete req.headers['if-modified-since']
    const headers = new Map<string, OutgoingHttpHeader>()
    const overrides = {
      setHeader(name: string, value: OutgoingHttpHeader) {
        headers.set(name.toLowerCase(), value)
        return res
      },
      appendHeader(name: string, value: OutgoingHttpHeader) {
        const key = name.toLowerCase()
        const current = headers.get(key)
        if (current === undefined) headers.set(key, value)
        else headers.set(key, [...toList(current), ...toList(value)])
        return res
      },
      getHeader: (name: string) => headers.get(name.toLowerCase()),
      getHeaders: () => Object.fromEntries(headers) as OutgoingHttpHeaders,
      getHeaderNames: () => [...headers.keys()],
      hasHeader: (name: string) => headers.has(name.toLowerCase()),
      removeHeader(name: string) {
        headers.delete(name.toLowerCase())
      },
    }
    Object.assign(res, overrides)
    Object.defineProperty(res, 'headersSent', { configurable: true, get: () => false })
    res.statusCode = 200
    res.statusMessage = ''
  }
}

function toList(value: OutgoingHttpHeader): string[] {
  return Array.isArray(value) ? value.map(String) : [String(value)]
}

function isEventStream(res: Response): boolean {
  const type = res.getHeader('content-type')
  return typeof type === 'string' && type.startsWith('text/event-stream')
}

function noop(): void {}
