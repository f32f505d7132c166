// The framework-neutral core of the HTTP middleware: which key a request is limited under, the allow,
// deny and skip rules, and the response a decision asks for. Express and Fastify only adapt it.

import { checkOneOf, checkOptionKeys, describeValue } from '../../config/validate.js'
import { InvalidOptionsError } from '../../errors.js'
import type { AccessList } from '../access-list.js'
import { CompoundLimiter, type CompoundLimitResult } from '../compound-limiter.js'
import type { RateLimiter, RateLimitResult } from '../limiter.js'
import { ipKey } from './client-key.js'
import { type RateLimitedBody, rateLimitedBody, rateLimitHeaders } from './rate-limit-headers.js'

/** How one request is keyed: by IP, by user (falling back to the IP), or by a function. */
export type HttpKeyBy<Req> = 'ip' | 'user' | ((req: Req) => string | undefined | Promise<string | undefined>)

/**
 * Options of the `rateLimit` middleware of every integration; `Req` and `Res` are the framework's
 * request and response (reply).
 */
export interface HttpRateLimitOptions<Req, Res = unknown> {
  /**
   * What a request is limited by:
   * - `'ip'`: the client address as the framework reports it, so it honours the framework's own
   *   trust-proxy setting (`app.set('trust proxy', ...)` in Express, `trustProxy` in Fastify) and never
   *   reads `X-Forwarded-For` by itself; IPv6 addresses are grouped by `ipv6Subnet`;
   * - `'user'`: `userId(req)`, falling back to the IP key for anonymous requests;
   * - a function returning the key (`undefined` falls back to the IP key);
   * - for a compound limiter, one of these per part (in part order), or one for every part.
   * @default 'ip'
   * @example keyBy: (req) => `tenant:${req.headers['x-tenant-id']}`
   * @example keyBy: ['ip', 'user', (req) => `route:${req.path}`] // a compound of three parts
   */
  keyBy?: HttpKeyBy<Req> | readonly HttpKeyBy<Req>[]
  /**
   * The user id for `keyBy: 'user'`.
   * @default (req) => req.user?.id
   * @example userId: (req) => req.session?.userId
   */
  userId?: (req: Req) => string | number | undefined
  /**
   * IPv6 prefix length that identifies one client (an ISP hands a subscriber a /64 or /56); `false`
   * keys each IPv6 address on its own.
   * @default 64
   * @example 56
   */
  ipv6Subnet?: number | false
  /**
   * Units a request takes.
   * @default 1
   * @example cost: (req) => (req.method === 'POST' ? 5 : 1)
   */
  cost?: number | ((req: Req) => number)
  /**
   * Requests for which this returns true pass without being counted.
   * @default undefined
   * @example skip: (req) => req.path === '/health'
   */
  skip?: (req: Req) => boolean | Promise<boolean>
  /**
   * Give a request's units back once its response succeeded (`requestWasSuccessful`), as
   * express-rate-limit's option of the same name: only failures count.
   * @default false
   * @example skipSuccessfulRequests: true // a login limit that counts failed logins only
   */
  skipSuccessfulRequests?: boolean
  /**
   * Give a request's units back once its response failed (status >= 400, or the connection closed
   * before the response was sent), as express-rate-limit's option of the same name.
   * @default false
   * @example skipFailedRequests: true
   */
  skipFailedRequests?: boolean
  /**
   * Whether a response counts as successful for `skipSuccessfulRequests` / `skipFailedRequests`.
   * @default (req, res) => res.statusCode < 400
   * @example requestWasSuccessful: (req, res) => res.statusCode !== 401
   */
  requestWasSuccessful?: (req: Req, res: Res) => boolean
  /**
   * A shared allow/deny list (`kit.accessList(name)`), checked in process before any limiter, with the
   * client IP, the user id (`userId`) and the request's key: a denied request gets 403 without reaching
   * Redis, an allowed one passes unlimited. Checked after the static `denyList`/`allowList`.
   * @default undefined
   * @example accessList: kit.accessList('api')
   */
  accessList?: AccessList
  /**
   * Client IPs or keys (e.g. `'10.0.0.7'`, `'user:1'`) that are never limited.
   * @default []
   * @example ['10.0.0.7', 'user:monitoring']
   */
  allowList?: readonly string[]
  /**
   * Client IPs or keys that are always refused, with 403.
   * @default []
   * @example ['ip:203.0.113.66']
   */
  denyList?: readonly string[]
  /**
   * Send `RateLimit-Policy` and `RateLimit` (IETF draft 8, the only draft sent: express-rate-limit's
   * `'draft-6'`/`'draft-7'` values are refused).
   * @default true
   * @example false
   */
  standardHeaders?: boolean
  /**
   * Also send `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch seconds).
   * @default false
   * @example true
   */
  legacyHeaders?: boolean
  /**
   * The policy name in the RateLimit headers.
   * @default the limiter's name
   * @example 'per-minute'
   */
  policyName?: string
  /**
   * The `message` of the 429 JSON body.
   * @default 'Too many requests; retry in <n> s.'
   * @example 'Slow down.'
   */
  message?: string
}

/** What the integration should do with a request. */
export type HttpDecision =
  | {
      action: 'pass'
      headers: Record<string, string>
      result?: RateLimitResult | CompoundLimitResult
      /**
       * Set when the request may be refunded: call it once the response is over, with whether it was
       * sent in full (`false` when the connection closed first).
       */
      settle?: (res: unknown, finished: boolean) => void
    }
  | {
      action: 'reject'
      status: 429
      headers: Record<string, string>
      body: RateLimitedBody
      result: RateLimitResult
    }
  | {
      action: 'reject'
      status: 403
      headers: Record<string, string>
      body: { error: 'forbidden'; message: string }
    }

const KNOWN = new Set([
  'keyBy',
  'userId',
  'ipv6Subnet',
  'cost',
  'skip',
  'skipSuccessfulRequests',
  'skipFailedRequests',
  'requestWasSuccessful',
  'accessList',
  'allowList',
  'denyList',
  'standardHeaders',
  'legacyHeaders',
  'policyName',
  'message',
  // The integrations' own option, checked here so every option of the middleware is checked in one place.
  'onLimited',
])
const BOOLEANS = [true, false] as const
const WHERE = 'rateLimit'

/** The integrations' `onLimited`, which this core only checks. */
function onLimitedOf(options: object): unknown {
  return (options as { onLimited?: unknown }).onLimited
}

/** Reads `req.user.id` when present (the shape passport and most auth middleware give). */
function defaultUserId(req: unknown): string | number | undefined {
  const user = (req as { user?: { id?: unknown } }).user
  const id = user?.id
  return typeof id === 'string' || typeof id === 'number' ? id : undefined
}

/** `res.statusCode` of the framework's response, when it has one. */
function statusOf(res: unknown): number {
  const code = (res as { statusCode?: unknown } | undefined)?.statusCode
  return typeof code === 'number' ? code : 0
}

function checkKeyBy(keyBy: unknown, where: string): void {
  if (keyBy !== 'ip' && keyBy !== 'user' && typeof keyBy !== 'function') {
    throw new InvalidOptionsError(
      `${where} must be one of 'ip', 'user' or a function, got ${describeValue(keyBy)}.`,
    )
  }
}

/**
 * Decides requests for one limiter or compound limiter. Options are checked here, when the middleware
 * is created.
 * @throws InvalidOptionsError
 */
export class HttpRateLimit<Req, Res = unknown> {
  readonly #limiter: RateLimiter | CompoundLimiter
  readonly #options: HttpRateLimitOptions<Req, Res>
  readonly #allow: ReadonlySet<string>
  readonly #deny: ReadonlySet<string>
  readonly #subnet: number | false
  /** One keyBy per part (one in all for a single limiter). */
  readonly #keyBys: readonly HttpKeyBy<Req>[]
  /** The smallest limit of the parts, for the cost check. */
  readonly #smallestLimit: number

  constructor(limiter: RateLimiter | CompoundLimiter, options: HttpRateLimitOptions<Req, Res> = {}) {
    const compound = limiter instanceof CompoundLimiter
    if (!limiter || typeof limiter.consume !== 'function') {
      throw new InvalidOptionsError(
        "rateLimit needs a limiter: rateLimit(kit.limiter('api', {...}), options), or kit.compoundLimiter([...]).",
      )
    }
    checkOptionKeys(options, KNOWN, WHERE)
    const { keyBy = 'ip', ipv6Subnet = 64, cost = 1 } = options
    const parts = compound ? limiter.parts.length : 1
    if (Array.isArray(keyBy)) {
      if (!compound || keyBy.length !== parts) {
        throw new InvalidOptionsError(
          compound
            ? `${WHERE}: keyBy lists ${keyBy.length} keys for a compound limiter of ${parts} parts; give one per part.`
            : `${WHERE}: keyBy takes a list only for a compound limiter; give 'ip', 'user' or a function.`,
        )
      }
      keyBy.forEach((one, i) => {
        checkKeyBy(one, `${WHERE}: keyBy[${i}]`)
      })
      this.#keyBys = [...keyBy]
    } else {
      checkKeyBy(keyBy, `${WHERE}: keyBy`)
      this.#keyBys = Array.from({ length: parts }, () => keyBy as HttpKeyBy<Req>)
    }
    this.#smallestLimit = compound
      ? Math.min(...limiter.parts.map((part) => part.limiter.options.limit))
      : limiter.options.limit
    if (ipv6Subnet !== false && (!Number.isInteger(ipv6Subnet) || ipv6Subnet < 1 || ipv6Subnet > 128)) {
      throw new InvalidOptionsError(
        `rateLimit: ipv6Subnet must be 1 to 128 or false, got ${String(ipv6Subnet)}.`,
      )
    }
    if (
      typeof cost !== 'function' &&
      (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 1 || cost > this.#smallestLimit)
    ) {
      throw new InvalidOptionsError(
        `${WHERE}: cost must be a function or a whole number from 1 to the limit, got ${describeValue(cost)}.`,
      )
    }
    const functions = {
      skip: options.skip,
      userId: options.userId,
      requestWasSuccessful: options.requestWasSuccessful,
      onLimited: onLimitedOf(options),
    }
    for (const [name, value] of Object.entries(functions)) {
      if (value !== undefined && typeof value !== 'function') {
        throw new InvalidOptionsError(`${WHERE}: ${name} must be a function, got ${describeValue(value)}.`)
      }
    }
    for (const name of [
      'standardHeaders',
      'legacyHeaders',
      'skipSuccessfulRequests',
      'skipFailedRequests',
    ] as const) {
      if (options[name] !== undefined) checkOneOf(options[name], BOOLEANS, WHERE, name)
    }
    for (const name of ['allowList', 'denyList'] as const) {
      const list: unknown = options[name]
      if (list !== undefined && (!Array.isArray(list) || !list.every((item) => typeof item === 'string'))) {
        throw new InvalidOptionsError(
          `${WHERE}: ${name} must be an array of strings (client IPs or keys), got ${describeValue(list)}.`,
        )
      }
    }
    const list: unknown = options.accessList
    if (
      list !== undefined &&
      (typeof list !== 'object' || list === null || typeof (list as AccessList).match !== 'function')
    ) {
      throw new InvalidOptionsError(
        `${WHERE}: accessList must be a list from kit.accessList(name), got ${describeValue(list)}.`,
      )
    }
    for (const name of ['policyName', 'message'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'string') {
        throw new InvalidOptionsError(
          `${WHERE}: ${name} must be a string, got ${describeValue(options[name])}.`,
        )
      }
    }
    this.#limiter = limiter
    this.#options = options
    this.#subnet = ipv6Subnet
    this.#allow = new Set(options.allowList ?? [])
    this.#deny = new Set(options.denyList ?? [])
  }

  /**
   * The decision for a request.
   * @param ip the client address as the framework reports it (after its trust-proxy handling)
   */
  async decide(req: Req, ip: string | undefined): Promise<HttpDecision> {
    const options = this.#options
    if (options.skip && (await options.skip(req))) return { action: 'pass', headers: {} }
    const address = ip ?? 'unknown'
    const keys = await Promise.all(this.#keyBys.map((keyBy) => this.#key(req, address, keyBy)))
    const rule = this.#rule(address, keys)
    if (rule === 'deny') {
      return {
        action: 'reject',
        status: 403,
        headers: {},
        body: { error: 'forbidden', message: 'This client is not allowed.' },
      }
    }
    if (rule === 'allow') return { action: 'pass', headers: {} }
    if (options.accessList) {
      const listed = await options.accessList.check(address, this.#userId(req), keys[0])
      if (listed === 'deny') {
        return {
          action: 'reject',
          status: 403,
          headers: {},
          body: { error: 'forbidden', message: 'This client is not allowed.' },
        }
      }
      if (listed === 'allow') return { action: 'pass', headers: {} }
    }
    const cost = typeof options.cost === 'function' ? options.cost(req) : (options.cost ?? 1)
    const limiter = this.#limiter
    let result: RateLimitResult | CompoundLimitResult
    let policy: string
    let windowMs: number
    if (limiter instanceof CompoundLimiter) {
      const compound = await limiter.consume(keys, cost)
      const binding = limiter.parts[compound.binding]!
      result = compound
      policy = options.policyName ?? binding.name ?? binding.limiter.name
      windowMs = binding.limiter.options.windowMs
    } else {
      result = await limiter.consume(keys[0]!, cost)
      policy = options.policyName ?? limiter.name
      windowMs = limiter.options.windowMs
    }
    const headers = rateLimitHeaders(result, {
      policy,
      windowMs,
      standard: options.standardHeaders ?? true,
      legacy: options.legacyHeaders ?? false,
    })
    if (result.allowed) {
      const settle = this.#refund(req, keys, cost)
      return settle ? { action: 'pass', headers, result, settle } : { action: 'pass', headers, result }
    }
    return { action: 'reject', status: 429, headers, body: rateLimitedBody(result, options.message), result }
  }

  /** The static lists' word on a request. */
  #rule(address: string, keys: readonly string[]): 'allow' | 'deny' | undefined {
    if (this.#deny.size === 0 && this.#allow.size === 0) return undefined
    if (this.#deny.has(address) || keys.some((key) => this.#deny.has(key))) return 'deny'
    if (this.#allow.has(address) || keys.some((key) => this.#allow.has(key))) return 'allow'
    return undefined
  }

  #userId(req: Req): string | number | undefined {
    const id = (this.#options.userId ?? defaultUserId)(req)
    return id === '' ? undefined : id
  }

  /** The refund to run after the response, when skipSuccessfulRequests / skipFailedRequests ask for one. */
  #refund(
    req: Req,
    keys: readonly string[],
    cost: number,
  ): ((res: unknown, finished: boolean) => void) | undefined {
    const { skipSuccessfulRequests, skipFailedRequests, requestWasSuccessful } = this.#options
    if (!skipSuccessfulRequests && !skipFailedRequests) return undefined
    let settled = false
    return (res, finished) => {
      if (settled) return
      settled = true
      const succeeded =
        finished && (requestWasSuccessful ? requestWasSuccessful(req, res as Res) : statusOf(res) < 400)
      if (succeeded ? !skipSuccessfulRequests : !skipFailedRequests) return
      const limiter = this.#limiter
      const refund =
        limiter instanceof CompoundLimiter ? limiter.reward(keys, cost) : limiter.reward(keys[0]!, cost)
      // After the response: nobody waits for it, and a failure only means the request stays counted.
      refund.then(undefined, () => {})
    }
  }

  async #key(req: Req, address: string, keyBy: HttpKeyBy<Req>): Promise<string> {
    const { userId = defaultUserId } = this.#options
    if (typeof keyBy === 'function') {
      const key = await keyBy(req)
      if (key !== undefined && key !== '') return key
    } else if (keyBy === 'user') {
      const id = userId(req)
      if (id !== undefined && id !== '') return `user:${id}`
    }
    return ipKey(address, this.#subnet)
  }
}
