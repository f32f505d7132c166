import { describe, expect, it } from 'vitest'
import type { RateLimitResult } from '../limiter.js'
import { rateLimitedBody, rateLimitHeaders } from './rate-limit-headers.js'

const settings = { policy: 'api', windowMs: 60_000, standard: true, legacy: true }

function result(overrides: Partial<RateLimitResult> = {}): RateLimitResult {
  return {
    allowed: true,
    limit: 100,
    remaining: 42,
    resetAt: Date.now() + 30_000,
    retryAfterMs: 0,
    blocked: false,
    ...overrides,
  }
}

describe('rateLimitHeaders', () => {
  it('gives the draft-8 fields and the legacy headers', () => {
    const headers = rateLimitHeaders(result(), settings)
    expect(headers['RateLimit-Policy']).toBe('"api";q=100;w=60')
    expect(headers.RateLimit).toBe('"api";r=42;t=30')
    expect(headers['X-RateLimit-Limit']).toBe('100')
    expect(headers['X-RateLimit-Remaining']).toBe('42')
    expect(Number(headers['X-RateLimit-Reset'])).toBeGreaterThan(Date.now() / 1000)
    expect(headers['Retry-After']).toBeUndefined()
  })

  it('adds Retry-After in whole seconds (at least 1) when rejected, and escapes the policy name', () => {
    const headers = rateLimitHeaders(result({ allowed: false, retryAfterMs: 1200 }), {
      ...settings,
      policy: 'a"b\\c',
    })
    expect(headers['Retry-After']).toBe('2')
    expect(headers['RateLimit-Policy']).toBe('"a\\"b\\\\c";q=100;w=60')
    expect(rateLimitHeaders(result({ allowed: false, retryAfterMs: 3 }), settings)['Retry-After']).toBe('1')
  })

  it('builds the 429 body', () => {
    expect(rateLimitedBody(result({ allowed: false, retryAfterMs: 9000, blocked: true }), undefined)).toEqual(
      {
        error: 'too_many_requests',
        message: 'Too many requests; retry in 9 s.',
        retryAfter: 9,
        limit: 100,
        blocked: true,
      },
    )
  })
})
