// Entry point of 'redkit/express': Express middleware over redkit features.
// Import from 'redkit/express'; express itself is an optional peer dependency.

export type { CacheResponseOptions } from './cache-response/index.js'
export { cacheResponse } from './cache-response/index.js'
export { invalidateOn } from './invalidate-on/index.js'
export type { RateLimitOptions } from './rate-limit/index.js'
export { rateLimit } from './rate-limit/index.js'
