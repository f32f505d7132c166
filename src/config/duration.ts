// Parses durations given as milliseconds or as short strings ('500ms', '30s', '5m', '1h', '1d').
// Every option that takes a time goes through here so bad input fails the same way.

import { InvalidOptionsError } from '../errors.js'

/** A duration: milliseconds as a number, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd' | 'w'}` | (string & {})

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/

/**
 * Turns a {@link Duration} into whole milliseconds.
 * @param name the option name, used in the error message
 * @throws InvalidOptionsError for negative, non-finite or unparsable values
 * @example parseDuration('5m', 'ttl') // 300000
 */
export function parseDuration(value: Duration, name: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidOptionsError(`${name} must be a non-negative number of milliseconds, got ${value}.`)
    }
    return Math.round(value)
  }
  if (typeof value !== 'string') {
    throw new InvalidOptionsError(`${name} must be milliseconds or a string like '30s', got ${typeof value}.`)
  }
  const match = DURATION_PATTERN.exec(value)
  if (!match) {
    throw new InvalidOptionsError(
      `${name} '${value}' is not a duration; use milliseconds or a number with ms, s, m, h, d or w (e.g. '30s', '5m').`,
    )
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!)
}

/** Like {@link parseDuration} but `undefined` gives the fallback. */
export function optionalDuration(value: Duration | undefined, name: string, fallback: number): number {
  return value === undefined ? fallback : parseDuration(value, name)
}
