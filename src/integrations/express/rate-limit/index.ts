// Express middleware over a redkit limiter: keys by IP (honouring Express' trust proxy), user or a
// function; sends the RateLimit headers, and 429 with Retry-After and a JSON body when over the limit.

import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { CompoundLimiter } from '../../../ratelimit/compound-limiter.js'
import { HttpRateLimit, type HttpRateLimitOptions } from '../../../ratelimit/http/http-rate-limit.js'
import type { RateLimiter, RateLimitResult } from '../../../ratelimit/limiter.js'

/** Options of the Express {@link rateLimit} middleware. */
export interface RateLimitOptions extends HttpRateLimitOptions<Request, Response> {
  /**
   * Answers a limited request instead of the default 429 JSON response (the RateLimit and Retry-After
   * headers are already set). For a compound limiter `result` is a `CompoundLimitResult`.
   * @default undefined
   * @example onLimited: (req, res, result) => res.status(429).render('slow-down', { result })
   */
  onLimited?: (req: Request, res: Response, result: RateLimitResult) => void
}

/**
 * Limits requests with `limiter` (or a compound limiter: one decision over several limits, the headers
 * those of the binding part). Use it app-wide or per route; each route may have its own limiter.
 * The decision is left in `res.locals.rateLimit`. When the limiter fails (not a store outage, which its
 * `onStoreError` policy handles), the error goes to `next(error)`.
 *
 * @example
 * import { rateLimit } from 'redkit/express'
 * app.set('trust proxy', 1) // behind one proxy: req.ip is the client
 * app.use('/api', rateLimit(kit.limiter('api', rateLimitTiers.api)))
 * app.post('/login', rateLimit(kit.limiter('login', rateLimitTiers.auth)), login)
 * app.post('/pay', rateLimit(kit.limiter('pay', { tier: 'payment' }), { keyBy: 'user' }), pay)
 * app.post('/login', rateLimit(loginLimiter, { skipSuccessfulRequests: true }), login) // failures only
 * app.use(rateLimit(kit.compoundLimiter([{ limiter: perIp }, { limiter: perUser }]), { keyBy: ['ip', 'user'] }))
 * @throws InvalidOptionsError when an option is invalid
 */
export function rateLimit(
  limiter: RateLimiter | CompoundLimiter,
  options: RateLimitOptions = {},
): RequestHandler {
  // The core checks every option, onLimited included, so a typo fails here, at startup.
  const core = new HttpRateLimit<Request, Response>(limiter, options)
  const { onLimited } = options
  return (req: Request, res: Response, next: NextFunction): void => {
    core.decide(req, req.ip ?? req.socket.remoteAddress).then((decision) => {
      res.set(decision.headers)
      if (decision.action === 'pass') {
        if (decision.result) res.locals.rateLimit = decision.result
        const { settle } = decision
        if (settle) {
          res.once('finish', () => settle(res, true))
          res.once('close', () => settle(res, res.writableFinished))
        }
        next()
        return
      }
      if (decision.status === 429) {
        res.locals.rateLimit = decision.result
        if (onLimited) {
          onLimited(req, res, decision.result)
          return
        }
      }
      res.status(decision.status).json(decision.body)
    }, next)
  }
}
