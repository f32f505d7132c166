// Entry point of 'redkit/fastify': Fastify hooks and plugins over redkit features.
// Import from 'redkit/fastify'; fastify itself is an optional peer dependency.

export type { CacheResponseHooks, CacheResponseOptions } from './cache-response/index.js'
export { cacheResponse } from './cache-response/index.js'
export type { InvalidateOnHook } from './invalidate-on/index.js'
export { invalidateOn } from './invalidate-on/index.js'
export type {
  RateLimitHook,
  RateLimitOptions,
  RateLimitPluginOptions,
} from './rate-limit/index.js'
export { rateLimit, rateLimitPlugin } from './rate-limit/index.js'
