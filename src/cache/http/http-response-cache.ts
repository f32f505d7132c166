// The framework-neutral core of cacheResponse: its options, which requests may share an entry, the
// getOrSet flow a request goes through (hit, stale + refresh, single-flight miss) and the hit headers.

import type { OutgoingHttpHeaders } from 'node:http'
import { type Duration, parseDuration } from '../../config/duration.js'
import { checkOptionKeys, describeValue } from '../../config/validate.js'
import { InvalidOptionsError } from '../../errors.js'
import type { Cache } from '../cache.js'
import type { GetOrSetOptions } from '../cache-options.js'
import type { CacheFactory } from '../get-or-set-flow.js'
import {
  bodyOf,
  type CachedResponse,
  type CapturedResponse,
  headerText,
  isCachedResponse,
  type StoreRules,
  toCachedResponse,
} from './cached-response.js'
import {
  DEFAULT_SESSION_COOKIES,
  type HttpRequestLike,
  looksAuthenticated,
  RequestKeys,
} from './request-key.js'

/** Options of the `cacheResponse` middleware of every integration; `Req` is the framework's request. */
export interface HttpCacheOptions<Req> {
  /**
   * The scope of an entry: requests share a cached response only when this returns the same value (and
   * path, query and `vary` headers match). Return the user or tenant id to cache the responses of
   * authenticated requests per user or tenant; `undefined` for a request means no scope.
   * @default undefined (no scope: one entry for every client)
   * @example key: (req) => req.user?.id
   */
  key?: (req: Req) => string | undefined
  /**
   * Share one entry between every client, authenticated or not, for a route whose response does not
   * depend on who asks (a public catalogue behind a login).
   * @default false (authenticated requests without a `key` are not cached)
   * @example shared: true
   */
  shared?: boolean
  /**
   * Tells authenticated requests apart. They bypass the cache unless `key` scopes them or `shared` is
   * set, so no client is ever served another user's response.
   * @default an `Authorization` header, a session cookie (`sessionCookies`) or `req.user` set
   * @example authenticated: (req) => req.headers['x-api-key'] !== undefined
   */
  authenticated?: (req: Req) => boolean
  /**
   * Cookie names that mark a request as authenticated for the default `authenticated` test (also with
   * a `__Host-` or `__Secure-` prefix). Other cookies (analytics, consent) do not.
   * @default ['connect.sid', 'sessionId', 'session', 'sid']
   * @example sessionCookies: ['app_session']
   */
  sessionCookies?: readonly string[]
  /**
   * Request headers whose values are part of the key, so each value gets its own entry; also sent as
   * the response's `Vary`.
   * @default []
   * @example vary: ['accept-language']
   */
  vary?: readonly string[]
  /**
   * Tags of the entry, computed from the request: `kit.invalidateTags(tags)` (or `invalidateOn`) makes
   * every entry carrying one of them a miss, on every instance.
   * @default undefined (no tags)
   * @example tags: (req) => [`vendor:${req.params.vendorId}`]
   */
  tags?: (req: Req) => readonly string[]
  /**
   * How long an entry stays fresh, instead of the cache's `ttl`.
   * @default the cache's ttl
   * @example ttl: '30s'
   */
  ttl?: Duration
  /**
   * The `Cache-Control` of responses stored or served from the cache, when the handler sets none;
   * `false` sends none.
   * @default the cache's `cacheControl` (its tier's, e.g. `private, max-age=30` for `list`)
   * @example cacheControl: 'public, max-age=60'
   */
  cacheControl?: string | false
  /**
   * The response header that says how the request was answered: `HIT`, `STALE` (served within swr while
   * it refreshes, or within grace), `MISS` (the handler ran, or the request waited for the handler run by
   * a concurrent one) or `BYPASS` (authenticated, not cached); `false` sends none.
   * @default 'X-Cache'
   * @example statusHeader: 'X-Response-Cache'
   */
  statusHeader?: string | false
  /**
   * Largest body stored, in bytes; a larger response is sent as it comes and not stored.
   * @default 1048576 (1 MiB)
   * @example maxBodySize: 256 * 1024
   */
  maxBodySize?: number
  /**
   * How long requests for a missing entry wait for the response of the one request that runs the
   * handler; after that they run the handler themselves.
   * @default '30s'
   * @example waitTimeout: '5s'
   */
  waitTimeout?: Duration
  /**
   * Requests for which this returns true are neither served from nor stored in the cache.
   * @default undefined
   * @example skip: (req) => req.query.fresh === '1'
   */
  skip?: (req: Req) => boolean
}

/** The value of the status header (`X-Cache`). */
export type CacheStatus = 'HIT' | 'STALE' | 'MISS' | 'BYPASS'

/** How one cacheable request is looked up. */
export interface CachePlan {
  /** The cache key (relative to the cache). */
  key: string
  /** Whether the entry is scoped by the `key` option. */
  scoped: boolean
  options: GetOrSetOptions
}

/**
 * What the framework adapter does for the core. Every request ends in exactly one of `pass`, `capture`
 * (the handler runs once for a missing entry) or `serve`, or in `fail`; `refresh` may follow `serve`.
 */
export interface ResponseTarget {
  /** Lets the request reach the handler, nothing captured; `status` goes in the status header. */
  pass(status: CacheStatus | undefined): void
  /** Lets the request reach the handler and captures its response; resolves with what was stored. */
  capture(plan: CachePlan): Promise<CachedResponse | undefined>
  /** Answers from a stored response. */
  serve(record: CachedResponse, status: CacheStatus): void
  /** Produces a fresh response in the background, after `serve` answered with a stale one. */
  refresh(plan: CachePlan): Promise<CachedResponse | undefined>
  /** A misconfiguration showed up on this request (a `key` or `tags` function returning garbage). */
  fail(error: unknown): void
}

const KNOWN = new Set([
  'key',
  'shared',
  'authenticated',
  'sessionCookies',
  'vary',
  'tags',
  'ttl',
  'cacheControl',
  'statusHeader',
  'maxBodySize',
  'waitTimeout',
  'skip',
])
const WHERE = 'cacheResponse'
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HEADER_VALUE = /^[\x20-\x7e]+$/
const BYPASS = Symbol('bypass')
const STATUS_INDEX: Record<CacheStatus, number> = { HIT: 0, STALE: 1, MISS: 2, BYPASS: 3 }

/** A stored record ready to send: its body bytes and header sets, built on its first hit. */
interface Prepared {
  body: Buffer
  /** Indexed by status × (own Cache-Control?) × (304?). */
  headers: (OutgoingHttpHeaders | undefined)[]
}

/**
 * The response cache of one `cacheResponse` middleware. Options are checked here, when the middleware
 * is created.
 * @throws InvalidOptionsError
 */
export class HttpResponseCache<Req extends HttpRequestLike> {
  /** The status header name, or undefined when it is off. */
  readonly statusHeader: string | undefined
  /** The Cache-Control sent when the handler sets none, or undefined. */
  readonly cacheControl: string | undefined
  /** The request headers the key varies on, as given (sent in `Vary`). */
  readonly varyNames: readonly string[]
  /** Largest body stored, in bytes. */
  readonly maxBodySize: number
  readonly #cache: Cache
  readonly #keys: RequestKeys
  readonly #scope: ((req: Req) => string | undefined) | undefined
  readonly #shared: boolean
  readonly #authenticated: (req: Req) => boolean
  readonly #tags: ((req: Req) => readonly string[]) | undefined
  readonly #skip: ((req: Req) => boolean) | undefined
  readonly #base: GetOrSetOptions
  readonly #waitMs: number
  readonly #sharedRules: StoreRules
  readonly #scopedRules: StoreRules
  readonly #statusHeaderLower: string | undefined
  readonly #prepared = new WeakMap<CachedResponse, Prepared>()
  /**
   * Responses captured on a miss and being written to the cache, by key: a request arriving in that
   * window is served from here instead of waiting for the write (and is a HIT, as it would be after it).
   */
  readonly #writing = new Map<string, CachedResponse>()

  constructor(cache: Cache, options: HttpCacheOptions<Req> = {}) {
    if (!cache || typeof (cache as Partial<Cache>).getOrSetWithOutcome !== 'function') {
      throw new InvalidOptionsError(
        "cacheResponse needs a cache: cacheResponse(kit.cache('pages', kit.tiers.list), options).",
      )
    }
    checkOptionKeys(options, KNOWN, WHERE)
    for (const name of ['key', 'authenticated', 'tags', 'skip'] as const) {
      const value: unknown = options[name]
      if (value !== undefined && typeof value !== 'function') {
        throw new InvalidOptionsError(`${WHERE}: ${name} must be a function, got ${describeValue(value)}.`)
      }
    }
    if (options.shared !== undefined && typeof options.shared !== 'boolean') {
      throw new InvalidOptionsError(
        `${WHERE}: shared must be true or false, got ${describeValue(options.shared)}.`,
      )
    }
    if (options.authenticated !== undefined && options.sessionCookies !== undefined) {
      throw new InvalidOptionsError(
        `${WHERE}: sessionCookies only feeds the default authenticated test; with your own authenticated function, check the cookies there and drop sessionCookies.`,
      )
    }
    const sessionCookies = new Set(names(options.sessionCookies, 'sessionCookies', DEFAULT_SESSION_COOKIES))
    const vary = names(options.vary, 'vary', [])
    for (const name of vary) {
      if (!TOKEN.test(name)) {
        throw new InvalidOptionsError(`${WHERE}: vary must list header names, got '${name}'.`)
      }
    }
    this.varyNames = vary
    const varyLower = vary.map((name) => name.toLowerCase())
    this.#keys = new RequestKeys(varyLower)
    this.cacheControl = cacheControlOf(options.cacheControl, cache.cacheControl)
    this.statusHeader = statusHeaderOf(options.statusHeader)
    this.#statusHeaderLower = this.statusHeader?.toLowerCase()
    const maxBodySize = options.maxBodySize ?? 1024 * 1024
    if (!Number.isSafeInteger(maxBodySize) || maxBodySize < 0) {
      throw new InvalidOptionsError(
        `${WHERE}: maxBodySize must be a whole number of bytes >= 0, got ${describeValue(maxBodySize)}.`,
      )
    }
    this.maxBodySize = maxBodySize
    this.#waitMs = parseDuration(options.waitTimeout ?? '30s', `${WHERE} waitTimeout`)
    if (this.#waitMs === 0) throw new InvalidOptionsError(`${WHERE}: waitTimeout must be greater than 0.`)
    // Checked now, so a bad ttl fails at startup rather than on the first miss.
    if (options.ttl !== undefined) parseDuration(options.ttl, `${WHERE} ttl`)
    this.#base = Object.freeze(
      options.ttl === undefined ? { cacheNullish: false } : { cacheNullish: false, ttl: options.ttl },
    )
    this.#cache = cache
    this.#scope = options.key
    this.#shared = options.shared ?? false
    this.#authenticated = options.authenticated ?? ((req) => looksAuthenticated(req, sessionCookies))
    this.#tags = options.tags
    this.#skip = options.skip
    const varySet = new Set(varyLower)
    this.#sharedRules = { scoped: false, vary: varySet, maxBodySize }
    this.#scopedRules = { scoped: true, vary: varySet, maxBodySize }
  }

  /**
   * Answers one request through `target`: not cacheable (method, skip) → pass; authenticated without a
   * scope → pass as BYPASS; else getOrSet on its key, where the first request of a missing key captures
   * the handler's response and concurrent ones wait for it (single flight), a fresh entry is served, and a
   * stale one is served and then refreshed by running the handler again in the background.
   * @param url the request's path and query as received (`originalUrl` in Express)
   */
  handle(req: Req, url: string, target: ResponseTarget): void {
    let plan: CachePlan | typeof BYPASS | undefined
    try {
      plan = this.#plan(req, url)
    } catch (error) {
      target.fail(error)
      return
    }
    if (plan === undefined) {
      target.pass(undefined)
      return
    }
    if (plan === BYPASS) {
      target.pass('BYPASS')
      return
    }
    const cachePlan = plan
    // A response just captured for this key is being written: it is what the entry will hold.
    const writing = this.#writing.size === 0 ? undefined : this.#writing.get(cachePlan.key)
    if (writing !== undefined) {
      try {
        target.serve(writing, 'HIT')
      } catch (error) {
        target.fail(error)
      }
      return
    }
    // Which part this request plays: it answered from the cache (or waits to), or its factory ran.
    let produced = false
    let served = false
    let settled = false
    /** What this request's run captured and put in `#writing`, removed once its getOrSet settles. */
    let captured: CachedResponse | undefined
    let startRefresh: (() => void) | undefined
    const factory: CacheFactory<CachedResponse | undefined> = ({ background }) => {
      if (background) {
        // A stale entry of this request's key: refresh it once its stale copy has been sent.
        return new Promise<CachedResponse | undefined>((resolve) => {
          startRefresh = () => {
            this.#bounded(target.refresh(cachePlan)).then(resolve)
          }
          if (served) startRefresh()
        })
      }
      produced = true
      return this.#bounded(target.capture(cachePlan)).then((record) => {
        // Not after the flow answered (a soft timeout served a stale value): nothing would remove it then.
        if (record !== undefined && !settled) {
          captured = record
          this.#writing.set(cachePlan.key, record)
        }
        return record
      })
    }
    const release = () => {
      settled = true
      if (captured !== undefined && this.#writing.get(cachePlan.key) === captured) {
        this.#writing.delete(cachePlan.key)
      }
    }
    this.#cache.getOrSetWithOutcome(cachePlan.key, factory, cachePlan.options).then(
      ({ value, outcome }) => {
        release()
        if (produced) return
        if (!isCachedResponse(value)) {
          // The handler's response could not be stored (or the entry is not one of ours): run it here too.
          target.pass('MISS')
          return
        }
        try {
          target.serve(value, outcome === 'hit' ? 'HIT' : outcome === 'miss' ? 'MISS' : 'STALE')
        } catch (error) {
          target.fail(error)
          return
        }
        served = true
        startRefresh?.()
      },
      (error: unknown) => {
        release()
        if (produced) return
        // A key or tag the cache refuses is a bug to show; anything else must not cost the request.
        if (error instanceof InvalidOptionsError) target.fail(error)
        else target.pass('MISS')
      },
    )
  }

  /**
   * The record to store for a captured response, or undefined when it must not be stored (non-2xx,
   * Set-Cookie, `no-store`, `private` on a shared entry, a `Vary` the key does not cover, a compressed or
   * too large body).
   */
  finish(captured: CapturedResponse, plan: CachePlan): CachedResponse | undefined {
    const result = toCachedResponse(
      captured,
      plan.scoped ? this.#scopedRules : this.#sharedRules,
      this.#statusHeaderLower,
    )
    return typeof result === 'string' ? undefined : result
  }

  /**
   * Whether a response carrying this record gets the middleware's Cache-Control: there is one, and
   * neither the record nor the response (`hasCacheControl`, set by earlier middleware) has its own.
   */
  ownCacheControl(record: CachedResponse, hasCacheControl: boolean): boolean {
    return (
      this.cacheControl !== undefined && !hasCacheControl && record.headers?.['cache-control'] === undefined
    )
  }

  /** The headers of a response served from `record` (200 or 304), built once per record and variant. */
  headersFor(
    record: CachedResponse,
    status: CacheStatus,
    ownCacheControl: boolean,
    notModified: boolean,
  ): OutgoingHttpHeaders {
    const prepared = this.#prepare(record)
    const index = STATUS_INDEX[status] * 4 + (ownCacheControl ? 1 : 0) + (notModified ? 2 : 0)
    let headers = prepared.headers[index]
    if (headers === undefined) {
      headers = notModified ? {} : ({ ...record.headers } as OutgoingHttpHeaders)
      if (!notModified) {
        // A 204 has neither (RFC 9110 §8.6); Node would refuse its body anyway.
        if (record.status !== 204) {
          if (record.type !== undefined) headers['content-type'] = record.type
          headers['content-length'] = String(prepared.body.length)
        }
      } else if (record.headers?.['cache-control'] !== undefined) {
        headers['cache-control'] = headerText(record.headers['cache-control'])
      }
      headers.etag = record.etag
      if (ownCacheControl) headers['cache-control'] = this.cacheControl
      if (this.statusHeader !== undefined) headers[this.statusHeader] = status
      prepared.headers[index] = headers
    }
    return headers
  }

  /** The body of `record` as bytes (decoded once per record). */
  bodyOf(record: CachedResponse): Buffer {
    return this.#prepare(record).body
  }

  #prepare(record: CachedResponse): Prepared {
    let prepared = this.#prepared.get(record)
    if (prepared === undefined) {
      prepared = { body: bodyOf(record), headers: [] }
      this.#prepared.set(record, prepared)
    }
    return prepared
  }

  #plan(req: Req, url: string): CachePlan | typeof BYPASS | undefined {
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') return undefined
    if (this.#skip?.(req)) return undefined
    const scope = this.#scope === undefined ? undefined : scopeOf(this.#scope(req))
    if (scope === undefined && !this.#shared && this.#authenticated(req)) return BYPASS
    const key = this.#keys.keyOf(url, req.headers, scope)
    let options = this.#base
    if (this.#tags !== undefined) {
      const tags: unknown = this.#tags(req)
      if (!Array.isArray(tags)) {
        throw new InvalidOptionsError(
          `${WHERE}: tags(req) must return an array of strings, got ${describeValue(tags)}.`,
        )
      }
      if (tags.length > 0) options = { ...options, tags }
    }
    return { key, scoped: scope !== undefined, options }
  }

  /** A capture or refresh that gives up (resolves undefined) after `waitTimeout`, releasing its waiters. */
  #bounded(work: Promise<CachedResponse | undefined>): Promise<CachedResponse | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.#waitMs)
      timer.unref()
      work.then(
        (record) => {
          clearTimeout(timer)
          resolve(record)
        },
        () => {
          clearTimeout(timer)
          resolve(undefined)
        },
      )
    })
  }
}

/** A `key` option's result as a scope: text, a number as text, or none. */
function scopeOf(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  throw new InvalidOptionsError(
    `${WHERE}: key(req) must return a string or undefined, got ${describeValue(value)}.`,
  )
}

function names(value: unknown, name: string, fallback: readonly string[]): readonly string[] {
  if (value === undefined) return fallback
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw new InvalidOptionsError(`${WHERE}: ${name} must be an array of names, got ${describeValue(value)}.`)
  }
  return [...value]
}

function cacheControlOf(value: unknown, fromCache: string | undefined): string | undefined {
  if (value === false) return undefined
  if (value === undefined) return fromCache
  if (typeof value !== 'string' || !HEADER_VALUE.test(value) || value.trim() === '') {
    throw new InvalidOptionsError(
      `${WHERE}: cacheControl must be false or a header value such as 'private, max-age=60', got ${describeValue(value)}.`,
    )
  }
  return value
}

function statusHeaderOf(value: unknown): string | undefined {
  if (value === false) return undefined
  if (value === undefined) return 'X-Cache'
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    throw new InvalidOptionsError(
      `${WHERE}: statusHeader must be false or a header name such as 'X-Cache', got ${describeValue(value)}.`,
    )
  }
  return value
}
