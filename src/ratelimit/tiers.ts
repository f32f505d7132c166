// The rate-limit presets the project ships: api 100/min, auth 10/min, payment 5/min. Plain objects, so
// `{ ...rateLimitTiers.auth, limit: 20 }` overrides a field; `{ tier: 'auth' }` names one as defaults.

import type { RateLimitPolicy } from './limiter-options.js'

/** Names of the presets in {@link rateLimitTiers}. */
export type RateLimitTierName = 'api' | 'auth' | 'payment'

/**
 * Presets for the usual limits of an HTTP backend.
 *
 * | tier | policy |
 * | --- | --- |
 * | `api` | sliding window, 100 per minute |
 * | `auth` | sliding window, 10 per minute, rejected attempts count, blocked 1 min after abuse, doubling up to 1 h |
 * | `payment` | sliding window, 5 per minute, blocked 5 min after abuse, doubling up to 1 h |
 *
 * @example
 * const login = kit.limiter('login', rateLimitTiers.auth)
 * const search = kit.limiter('search', { ...rateLimitTiers.api, limit: 300 })
 * const pay = kit.limiter('pay', { tier: 'payment', onStoreError: 'deny' })
 */
export const rateLimitTiers: Readonly<Record<RateLimitTierName, Readonly<RateLimitPolicy>>> = Object.freeze({
  api: Object.freeze({ algorithm: 'sliding-window', limit: 100, window: '1m' }),
  auth: Object.freeze({
    algorithm: 'sliding-window',
    limit: 10,
    window: '1m',
    // Brute force: every attempt counts, and a client that keeps trying waits longer each time.
    countRejected: true,
    blockFor: Object.freeze({ duration: '1m', multiplier: 2, max: '1h' }),
  }),
  payment: Object.freeze({
    algorithm: 'sliding-window',
    limit: 5,
    window: '1m',
    blockFor: Object.freeze({ duration: '5m', multiplier: 2, max: '1h' }),
  }),
} satisfies Record<RateLimitTierName, RateLimitPolicy>)
