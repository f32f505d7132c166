// Fastify side of redkit rate limiting: an onRequest hook per route, or a plugin for the whole app.
// Keys by IP (honouring Fastify's trustProxy), user or a function; RateLimit headers, 429 JSON body.

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { InvalidOptionsError } from '../../../errors.js'
import type { CompoundLimiter } from '../../../ratelimit/compound-limiter.js'
import { HttpRateLimit, type HttpRateLimitOptions } from '../../../ratelimit/http/http-rate-limit.js'
import type { RateLimiter, RateLimitResult } from '../../../ratelimit/limiter.js'

/** Options of the Fastify {@link rateLimit} hook. */
export interface RateLimitOptions extends HttpRateLimitOptions<FastifyRequest, FastifyReply> {
  /**
   * Answers a limited request instead of the default 429 JSON response (headers already set); it
   * must send the reply.
   * @default undefined
   */
  onLimited?: (request: FastifyRequest, reply: FastifyReply, result: RateLimitResult) => unknown
}

/** Options of {@link rateLimitPlugin}: the limiter and the hook's options. */
export interface RateLimitPluginOptions extends RateLimitOptions {
  /** The limiter (or compound limiter) every route of the app (and its child contexts) goes through. */
  limiter: RateLimiter | CompoundLimiter
}

/** The hook {@link rateLimit} returns: use it as a route's `onRequest`. */
export type RateLimitHook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/**
 * An `onRequest` hook that limits requests with `limiter` (or a compound limiter; the headers are those
 * of its binding part). With `skipSuccessfulRequests` / `skipFailedRequests`, units are given back once
 * the response is sent.
 * @example
 * import { rateLimit } from 'redkit/fastify'
 * const app = Fastify({ trustProxy: 1 })
 * app.post('/login', { onRequest: rateLimit(kit.limiter('login', rateLimitTiers.auth)) }, login)
 * @throws InvalidOptionsError when an option is invalid
 */
export function rateLimit(
  limiter: RateLimiter | CompoundLimiter,
  options: RateLimitOptions = {},
): RateLimitHook {
  // The core checks every option, onLimited included, so a typo fails here, at startup.
  const core = new HttpRateLimit<FastifyRequest, FastifyReply>(limiter, options)
  const { onLimited } = options
  return async (request, reply) => {
    const decision = await core.decide(request, request.ip)
    reply.headers(decision.headers)
    if (decision.action === 'pass') {
      const { settle } = decision
      if (settle) {
        reply.raw.once('finish', () => settle(reply, true))
        reply.raw.once('close', () => settle(reply, reply.raw.writableFinished))
      }
      return
    }
    if (decision.status === 429 && onLimited) {
      await onLimited(request, reply, decision.result)
      return reply
    }
    return reply.code(decision.status).send(decision.body)
  }
}

/**
 * Limits every route of the app it is registered on. A route opts out with `config: { rateLimit: false }`.
 * @example
 * await app.register(rateLimitPlugin, { limiter: kit.limiter('api', rateLimitTiers.api) })
 * app.get('/health', { config: { rateLimit: false } }, () => 'ok')
 */
export const rateLimitPlugin: FastifyPluginAsync<RateLimitPluginOptions> = async (app, options) => {
  const { limiter, ...rest } = options
  if (!limiter)
    throw new InvalidOptionsError('rateLimitPlugin needs a limiter: { limiter: kit.limiter(...) }.')
  const hook = rateLimit(limiter, rest)
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config as { rateLimit?: unknown }
    if (config.rateLimit === false) return
    return hook(request, reply)
  })
}
// Like fastify-plugin: the hook applies to the app that registers the plugin, not a child context only.
Object.assign(rateLimitPlugin, { [Symbol.for('skip-override')]: true })
