import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../errors.js'
import type { RateLimiter } from '../limiter.js'
import { HttpRateLimit, type HttpRateLimitOptions } from './http-rate-limit.js'

// Only what the constructor reads: option checks need no store.
const limiter = {
  name: 'api',
  options: { limit: 10, windowMs: 60_000 },
  consume: () => Promise.reject(new Error('not called')),
} as unknown as RateLimiter

describe('HttpRateLimit options', () => {
  it.each<[string, object, string]>([
    [
      'a typo',
      { standardHeader: false },
      "rateLimit: unknown option 'standardHeader' (did you mean 'standardHeaders'?). Known options: keyBy,",
    ],
    [
      "express-rate-limit's header drafts",
      { standardHeaders: 'draft-7' },
      "rateLimit: standardHeaders must be one of true, false, got 'draft-7'.",
    ],
    [
      'a legacyHeaders string',
      { legacyHeaders: 'yes' },
      "rateLimit: legacyHeaders must be one of true, false, got 'yes'.",
    ],
    [
      'an unknown keyBy',
      { keyBy: 'cookie' },
      "rateLimit: keyBy must be one of 'ip', 'user' or a function, got 'cookie'.",
    ],
    [
      'an allowList that is not a list',
      { allowList: '10.0.0.1' },
      'rateLimit: allowList must be an array of strings',
    ],
    ['a denyList with a number', { denyList: [42] }, 'rateLimit: denyList must be an array of strings'],
    ['a policyName that is not a string', { policyName: 5 }, 'rateLimit: policyName must be a string'],
    [
      'an onLimited that is not a function',
      { onLimited: 'reject' },
      'rateLimit: onLimited must be a function',
    ],
    ['options that are not an object', 'ip' as never, 'rateLimit: options must be an object'],
  ])('refuses %s', (_label, options, message) => {
    const make = () => new HttpRateLimit(limiter, options as HttpRateLimitOptions<unknown>)
    expect(make).toThrow(InvalidOptionsError)
    expect(make).toThrow(message)
  })

  it('accepts every documented option, and the integrations’ onLimited', () => {
    expect(
      () =>
        new HttpRateLimit(limiter, {
          keyBy: 'user',
          userId: () => 1,
          ipv6Subnet: 56,
          cost: 2,
          skip: () => false,
          allowList: ['10.0.0.7'],
          denyList: ['ip:203.0.113.66'],
          standardHeaders: false,
          legacyHeaders: true,
          policyName: 'per-minute',
          message: 'Slow down.',
          onLimited: () => {},
        } as HttpRateLimitOptions<unknown>),
    ).not.toThrow()
  })
})
