import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors.js'
import { resolveLimiterOptions } from './limiter-options.js'
import { rateLimitTiers } from './tiers.js'

describe('resolveLimiterOptions', () => {
  it('applies defaults', () => {
    expect(resolveLimiterOptions('api', { limit: 100, window: '1m' })).toEqual({
      algorithm: 'sliding-window',
      limit: 100,
      windowMs: 60_000,
      countRejected: false,
      block: undefined,
      onStoreError: 'insurance',
      instances: 1,
      blockedCacheSize: 10_000,
    })
  })

  it('takes a tier as defaults, and given fields win', () => {
    const auth = resolveLimiterOptions('login', { tier: 'auth', limit: 5 })
    expect(auth).toMatchObject({ limit: 5, windowMs: 60_000, countRejected: true })
    expect(auth.block).toEqual({ durationMs: 60_000, multiplier: 2, maxMs: 3_600_000, forgetMs: 86_400_000 })
    expect(resolveLimiterOptions('x', { ...rateLimitTiers.payment }).limit).toBe(5)
    expect(resolveLimiterOptions('x', rateLimitTiers.api).limit).toBe(100)
  })

  it('turns a plain blockFor duration into a doubling block capped at a day', () => {
    expect(resolveLimiterOptions('x', { limit: 1, window: 1000, blockFor: '30s' }).block).toEqual({
      durationMs: 30_000,
      multiplier: 2,
      maxMs: 86_400_000,
      forgetMs: 86_400_000,
    })
  })

  it.each([
    [{ window: '1m' }, /limit/],
    [{ limit: 10 }, /window/],
    [{ limit: 0, window: '1m' }, /limit/],
    [{ limit: 1.5, window: '1m' }, /limit/],
    [{ limit: 10, window: 'soon' }, /window/],
    [{ limit: 10, window: '1m', algorithm: 'leaky' }, /algorithm/],
    [{ limit: 10, window: '1m', onStoreError: 'ignore' }, /onStoreError/],
    [{ limit: 10, window: '1m', instances: 0 }, /instances/],
    [{ limit: 10, window: '1m', blockFor: { duration: '1m', multiplier: 0.5 } }, /multiplier/],
    [{ limit: 10, window: '1m', tier: 'gold' }, /tier/],
    [{ limit: 10, window: '1m', windw: '1m' }, /unknown option 'windw'/],
  ])('rejects %o', (options, message) => {
    expect(() => resolveLimiterOptions('x', options as never)).toThrow(InvalidOptionsError)
    expect(() => resolveLimiterOptions('x', options as never)).toThrow(message)
  })

  it.each<[string, object, string]>([
    [
      'a blockFor typo',
      { blockFor: { duration: '1m', multipler: 3 } },
      "limiter 'x': unknown option 'blockFor.multipler' (did you mean 'blockFor.multiplier'?). Known options of blockFor: duration, multiplier, max, forgetAfter.",
    ],
    [
      'an unknown algorithm',
      { algorithm: 'leaky' },
      "limiter 'x': algorithm must be one of 'fixed-window', 'sliding-window', 'token-bucket', got 'leaky'.",
    ],
    [
      'an unknown store error policy',
      { onStoreError: 'ignore' },
      "limiter 'x': onStoreError must be one of 'insurance', 'allow', 'deny', got 'ignore'.",
    ],
    [
      'an unknown tier',
      { tier: 'gold' },
      "limiter 'x': tier must be one of 'api', 'auth', 'payment', got 'gold'.",
    ],
    ['a top-level typo', { windw: '1m' }, "limiter 'x': unknown option 'windw' (did you mean 'window'?)"],
  ])('refuses %s, naming the full path and what is allowed', (_label, options, message) => {
    const all = { limit: 10, window: '1m', ...options } as never
    expect(() => resolveLimiterOptions('x', all)).toThrow(InvalidOptionsError)
    expect(() => resolveLimiterOptions('x', all)).toThrow(message)
  })

  it('needs a name', () => {
    expect(() => resolveLimiterOptions('', { limit: 1, window: 1 })).toThrow(InvalidOptionsError)
  })
})
