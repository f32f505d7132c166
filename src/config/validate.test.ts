import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors.js'
import { checkOneOf, checkOptionKeys } from './validate.js'

const KNOWN = new Set(['threshold', 'cooldown'])

describe('checkOptionKeys', () => {
  it.each<[string, unknown, { path?: string; example?: string }, string]>([
    [
      'a top-level typo',
      { treshold: 1 },
      {},
      "createRedkit: unknown option 'treshold' (did you mean 'threshold'?). Known options: threshold, cooldown.",
    ],
    [
      'a nested typo, named by its full path',
      { treshold: 1 },
      { path: 'breaker' },
      "createRedkit: unknown option 'breaker.treshold' (did you mean 'breaker.threshold'?). Known options of breaker: threshold, cooldown.",
    ],
    [
      'a key too far from any known one for a hint',
      { colour: 'red' },
      { path: 'breaker' },
      "createRedkit: unknown option 'breaker.colour'. Known options of breaker: threshold, cooldown.",
    ],
    [
      'a nested value that is not an object',
      5,
      { path: 'breaker', example: '{ threshold: 5 }' },
      'createRedkit: breaker must be an object such as { threshold: 5 }, got 5.',
    ],
    ['an array', [], {}, 'createRedkit: options must be an object, got an array.'],
    ['null', null, { path: 'breaker' }, 'createRedkit: breaker must be an object, got null.'],
  ])('refuses %s', (_label, options, extra, message) => {
    expect(() => checkOptionKeys(options, KNOWN, 'createRedkit', extra)).toThrow(InvalidOptionsError)
    expect(() => checkOptionKeys(options, KNOWN, 'createRedkit', extra)).toThrow(message)
  })

  it('accepts known keys only', () => {
    expect(() =>
      checkOptionKeys({ threshold: 1, cooldown: 2 }, KNOWN, 'x', { path: 'breaker' }),
    ).not.toThrow()
    expect(() => checkOptionKeys({}, KNOWN, 'x')).not.toThrow()
  })
})

describe('checkOneOf', () => {
  it.each<[unknown, readonly unknown[], string]>([
    [
      'zip',
      ['gzip', 'brotli', false],
      "cache 'c': compression must be one of 'gzip', 'brotli', false, got 'zip'.",
    ],
    [true, ['error', 'skip'], "cache 'c': compression must be one of 'error', 'skip', got true."],
    [undefined, ['a'], "cache 'c': compression must be one of 'a', got undefined."],
  ])('refuses %j, listing the allowed values', (value, allowed, message) => {
    expect(() => checkOneOf(value, allowed, "cache 'c'", 'compression')).toThrow(message)
  })

  it('returns an allowed value', () => {
    expect(checkOneOf('gzip', ['gzip', false] as const, 'x', 'compression')).toBe('gzip')
    expect(checkOneOf(false, ['gzip', false] as const, 'x', 'compression')).toBe(false)
  })
})
