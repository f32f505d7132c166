// The framework-neutral core of the HTTP middleware: which key a request is limited under, the allow,
// deny and skip rules, and the response a decision asks for. Express and Fastify only adapt it.

import { checkOneOf, checkOptionKeys, describeValue } from '../../config/validate.js'
import { InvalidOptionsError } from '../../errors.js'
import type { RateLimiter, RateLimitResult } from '../limiter.js'
import { ipKey } from './client-key.js'
import { type RateLimitedBody, rateLimitedBody, rateLimitHeaders } from './rate-limit-headers.js'

/** Options of the `rateLimit` middleware of every integration; `Req` is the framework's request. */
export interface HttpRateLimitOptions<Req> {
  /**
   * What a request is limited by:
   * - `'ip'`: the client address as the framework reports it, so it honours the framework's own
   *   trust-proxy setting (`app.set('trust proxy', ...)` in Express, `trustProxy` in Fastify) and never
   *   reads `X-Forwarded-For` by itself; IPv6 addresses are grouped by `ipv6Subnet`;
   * - `'user'`: `userId(req)`, falling back to the IP key for anonymous requests;
   * - a function returning the key (`undefined` falls back to the IP key).
   * @default 'ip'
   * @example keyBy: (req) => `tenant:${req.headers['x-tenant-id']}`
   */
  keyBy?: 'ip' | 'user' | ((req: Req) => string | undefined | Promise<string | undefined>)
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
  | { action: 'pass'; headers: Record<string, string>; result?: RateLimitResult }
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

/**
 * Decides requests for one limiter. Options are checked here, when the middleware is created.
 * @throws InvalidOptionsError
 */
export class HttpRateLimit<Req> {
  readonly #limiter: RateLimiter
  readonly #options: HttpRateLimitOptions<Req>
  readonly #allow: ReadonlySet<string>
  readonly #deny: ReadonlySet<string>
  readonly #subnet: number | false

  constructor(limiter: RateLimiter, options: HttpRateLimitOptions<Req> = {}) {
    if (!limiter || typeof limiter.consume !== 'function') {
      throw new InvalidOptionsError(
        "rateLimit needs a limiter: rateLimit(kit.limiter('api', {...}), options).",
      )
    }
    checkOptionKeys(options, KNOWN, WHERE)
    const { keyBy = 'ip', ipv6Subnet = 64, cost = 1 } = options
    if (keyBy !== 'ip' && keyBy !== 'user' && typeof keyBy !== 'function') {
      throw new InvalidOptionsError(
        `${WHERE}: keyBy must be one of 'ip', 'user' or a function, got ${describeValue(keyBy)}.`,
      )
    }
    if (ipv6Subnet !== false && (!Number.isInteger(ipv6Subnet) || ipv6Subnet < 1 || ipv6Subnet > 128)) {
      throw new InvalidOptionsError(
        `rateLimit: ipv6Subnet must be 1 to 128 or false, got ${String(ipv6Subnet)}.`,
      )
    }
    if (
      typeof cost !== 'function' &&
      (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 1 || cost > limiter.options.limit)
    ) {
      throw new InvalidOptionsError(
        `${WHERE}: cost must be a function or a whole number from 1 to the limit, got ${describeValue(cost)}.`,
      )
    }
    const functions = { skip: options.skip, userId: options.userId, onLimited: onLimitedOf(options) }
    for (const [name, value] of Object.entries(functions)) {
      if (value !== undefined && typeof value !== 'function') {
        throw new InvalidOptionsError(`${WHERE}: ${name} must be a function, got ${describeValue(value)}.`)
      }
    }
    for (const name of ['standardHeaders', 'legacyHeaders'] as const) {
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
    const key = await this.#key(req, address)
    if (this.#deny.has(address) || this.#deny.has(key)) {
      return {
        action: 'reject',
        status: 403,
        headers: {},
        body: { error: 'forbidden', message: 'This client is not allowed.' },
      }
    }
    if (this.#allow.has(address) || this.#allow.has(key)) return { action: 'pass', headers: {} }
    const cost = typeof options.cost === 'function' ? options.cost(req) : (options.cost ?? 1)
    const result = await this.#limiter.consume(key, cost)
    const headers = rateLimitHeaders(result, {
      policy: options.policyName ?? this.#limiter.name,
      windowMs: this.#limiter.options.windowMs,
      standard: options.standardHeaders ?? true,
      legacy: options.legacyHeaders ?? false,
    })
    if (result.allowed) return { action: 'pass', headers, result }
    return { action: 'reject', status: 429, headers, body: rateLimitedBody(result, options.message), result }
  }

  async #key(req: Req, address: string): Promise<string> {
    const { keyBy = 'ip', userId = defaultUserId } = this.#options
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
