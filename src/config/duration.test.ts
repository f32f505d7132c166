import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors.js'
import { optionalDuration, parseDuration } from './duration.js'

describe('parseDuration', () => {
  it.each([
    [0, 0],
    [1500, 1500],
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1.5s', 1500],
    ['  42 ', 42],
  ])('reads %j as %d ms', (input, expected) => {
    expect(parseDuration(input, 'ttl')).toBe(expected)
  })

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, '-5s', '5 minutes', 'abc', '', '5y'])(
    'refuses %j with an error naming the option',
    (input) => {
      expect(() => parseDuration(input, 'ttl')).toThrow(InvalidOptionsError)
      expect(() => parseDuration(input, 'ttl')).toThrow(/ttl/)
    },
  )

  it('refuses non-string, non-number input', () => {
    expect(() => parseDuration({} as never, 'swr')).toThrow(/swr must be milliseconds/)
  })

  it('falls back only when the value is undefined', () => {
    expect(optionalDuration(undefined, 'x', 7)).toBe(7)
    expect(optionalDuration(0, 'x', 7)).toBe(0)
  })
})
