// The response side of HTTP rate limiting, shared by the Express and Fastify integrations: the IETF
// RateLimit headers (draft 8), the legacy X-RateLimit-* headers, Retry-After and the 429 JSON body.

import type { RateLimitResult } from '../limiter.js'

/** Which headers to send. */
export interface HeaderSettings {
  /** The policy name in `RateLimit-Policy` / `RateLimit`. */
  policy: string
  windowMs: number
  standard: boolean
  legacy: boolean
}

/** An sf-string (RFC 9651): quoted, with `"` and `\` escaped. */
function sfString(text: string): string {
  return `"${text.replace(/[\\"]/g, (char) => `\\${char}`)}"`
}

/**
 * The headers for a decision:
 * - `RateLimit-Policy: "api";q=100;w=60` and `RateLimit: "api";r=42;t=30` (draft-ietf-httpapi-ratelimit-headers-08);
 * - with `legacy`, `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch seconds);
 * - `Retry-After` (seconds) when rejected.
 */
export function rateLimitHeaders(result: RateLimitResult, settings: HeaderSettings): Record<string, string> {
  const headers: Record<string, string> = {}
  const resetSeconds = Math.max(0, Math.ceil((result.resetAt - Date.now()) / 1000))
  if (settings.standard) {
    const name = sfString(settings.policy)
    headers['RateLimit-Policy'] =
      `${name};q=${result.limit};w=${Math.max(1, Math.ceil(settings.windowMs / 1000))}`
    headers.RateLimit = `${name};r=${result.remaining};t=${resetSeconds}`
  }
  if (settings.legacy) {
    headers['X-RateLimit-Limit'] = String(result.limit)
    headers['X-RateLimit-Remaining'] = String(result.remaining)
    headers['X-RateLimit-Reset'] = String(Math.ceil(result.resetAt / 1000))
  }
  if (!result.allowed) headers['Retry-After'] = String(retryAfterSeconds(result))
  return headers
}

/** Whole seconds to wait, at least 1 (Retry-After has no fractions, and 0 invites an instant retry). */
export function retryAfterSeconds(result: RateLimitResult): number {
  return Math.max(1, Math.ceil(result.retryAfterMs / 1000))
}

/** The JSON body of a 429 response. */
export interface RateLimitedBody {
  error: 'too_many_requests'
  message: string
  /** Seconds to wait, as in `Retry-After`. */
  retryAfter: number
  limit: number
  /** True when the client is blocked for abuse rather than just over its limit. */
  blocked: boolean
}

/** The 429 body for a rejected decision. */
export function rateLimitedBody(result: RateLimitResult, message: string | undefined): RateLimitedBody {
  const retryAfter = retryAfterSeconds(result)
  return {
    error: 'too_many_requests',
    message: message ?? `Too many requests; retry in ${retryAfter} s.`,
    retryAfter,
    limit: result.limit,
    blocked: result.blocked,
  }
}
