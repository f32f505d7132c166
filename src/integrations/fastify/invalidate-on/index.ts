// Fastify hook that invalidates cache tags after a mutation succeeded: an onResponse hook, so it runs
// once the 2xx reply has gone and a slow or unreachable Redis never delays or fails the request.

import type { FastifyReply, FastifyRequest, RouteGenericInterface } from 'fastify'
import {
  HttpInvalidation,
  type InvalidateOnOptions,
  type InvalidationTags,
} from '../../../cache/http/http-invalidation.js'
import type { Redkit } from '../../../redkit.js'

/** The hook {@link invalidateOn} returns: use it as a route's `onResponse`. */
export type InvalidateOnHook<Route extends RouteGenericInterface = RouteGenericInterface> = (
  request: FastifyRequest<Route>,
  reply: FastifyReply,
) => Promise<void>

/**
 * An `onResponse` hook: after a POST, PUT, PATCH or DELETE answered with 2xx, invalidates the tags
 * `tagsOf` returns through `kit.invalidateTags`. Errors are logged with the kit's logger and counted in
 * `kit.metrics().http.invalidateOn.errors`, never thrown.
 *
 * @example
 * import { invalidateOn } from 'redkit/fastify'
 * app.post<{ Params: { vendorId: string } }>('/vendors/:vendorId/products', {
 *   onResponse: invalidateOn<{ Params: { vendorId: string } }>(kit, (req) => [`vendor:${req.params.vendorId}`]),
 * }, createProduct)
 * @throws InvalidOptionsError when an argument is invalid
 */
export function invalidateOn<Route extends RouteGenericInterface = RouteGenericInterface>(
  kit: Redkit,
  tagsOf: (
    request: FastifyRequest<Route>,
    reply: FastifyReply,
  ) => InvalidationTags | Promise<InvalidationTags>,
  options: InvalidateOnOptions = {},
): InvalidateOnHook<Route> {
  const core = new HttpInvalidation<[FastifyRequest<Route>, FastifyReply]>(kit, tagsOf, options)
  return async (request, reply) => {
    if (core.applies(request.method)) core.after(reply.statusCode, request, reply)
  }
}
