// Entry point of 'redkit/express': Express middleware over redkit features.
// Import from 'redkit/express'; express itself is an optional peer dependency.

export type { RateLimitOptions } from './rate-limit/index.js'
export { rateLimit } from './rate-limit/index.js'
