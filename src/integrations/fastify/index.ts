// Entry point of 'redkit/fastify': Fastify hooks and plugins over redkit features.
// Import from 'redkit/fastify'; fastify itself is an optional peer dependency.

export type {
  RateLimitHook,
  RateLimitOptions,
  RateLimitPluginOptions,
} from './rate-limit/index.js'
export { rateLimit, rateLimitPlugin } from './rate-limit/index.js'
