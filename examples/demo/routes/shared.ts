// What the demo's route files share: the async handler wrapper, parameter parsing, and the caching
// switch the benchmark turns off to measure the same app without a cache.

import type { NextFunction, Request, RequestHandler, Response } from 'express'

/** Whether caches are on (every cache of the demo reads it), and what to warm at start. */
export interface DemoCaching {
  enabled: () => boolean
  warmers: (() => Promise<void>)[]
}

/** Route guards: who may call a route, from the caller's cached user context. */
export interface DemoAccess {
  /** Any logged-in user (a session or a bearer JWT); 401 otherwise. */
  signedIn: RequestHandler
  /**
   * A user of the route's `:companyId` whose role has `permission` (`orders:read`, `products:write`...);
   * 401 when not logged in, 403 for another company or a role without it.
   */
  can(permission: string): RequestHandler
}

/** An async route handler whose rejections reach Express' error handler. */
export function handle(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next)
  }
}

/** A positive integer route parameter; anything else is a 400 (thrown as a `BadRequest`). */
export function intParam(req: Request, name: string): number {
  const value = Number(req.params[name])
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new BadRequest(`${name} must be a positive whole number`)
  return value
}

/** A client error the error handler answers with 400. */
export class BadRequest extends Error {
  readonly status = 400
}
