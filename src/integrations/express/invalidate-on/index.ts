// Express middleware that invalidates cache tags after a mutation succeeded: once the 2xx response has
// gone, off the request's path, so a slow or unreachable Redis never delays or fails the request.

import type { NextFunction, Request, RequestHandler, Response } from 'express'
import {
  HttpInvalidation,
  type InvalidateOnOptions,
  type InvalidationTags,
} from '../../../cache/http/http-invalidation.js'
import type { Redkit } from '../../../redkit.js'

/**
 * After a POST, PUT, PATCH or DELETE answered with 2xx, invalidates the tags `tagsOf` returns (through
 * `kit.invalidateTags`: every entry carrying one is a miss on every instance). It runs when the response
 * has been sent ('finish'), or when the client left after a 2xx began; errors are logged with the kit's
 * logger and counted in `kit.metrics().http.invalidateOn.errors`, never passed to the request.
 * `tagsOf` may read `res.locals` (an id the handler created) and may be async.
 *
 * @example
 * import { invalidateOn } from 'redkit/express'
 * app.post('/vendors/:vendorId/products',
 *   invalidateOn(kit, (req) => [`vendor:${req.params.vendorId}`]), createProduct)
 * @throws InvalidOptionsError when an argument is invalid
 */
export function invalidateOn(
  kit: Redkit,
  tagsOf: (req: Request, res: Response) => InvalidationTags | Promise<InvalidationTags>,
  options: InvalidateOnOptions = {},
): RequestHandler {
  const core = new HttpInvalidation<[Request, Response]>(kit, tagsOf, options)
  return (req: Request, res: Response, next: NextFunction): void => {
    if (core.applies(req.method)) {
      let done = false
      const after = (): void => {
        if (done) return
        done = true
        core.after(res.statusCode, req, res)
      }
      res.once('finish', after)
      // A client that hung up mid-response: the mutation happened all the same once a 2xx was on its way.
      res.once('close', () => {
        if (res.headersSent) after()
      })
    }
    next()
  }
}
