// Checks shared by every options resolver: options objects with only known keys at every nesting level,
// values from a fixed list, and names that become part of keys. One wording everywhere, listing what is allowed.

import { InvalidOptionsError } from '../errors.js'

const NAME = /^[A-Za-z0-9_.-]+$/

/** Where a checked object sits and how to show a good one. */
export interface OptionsPath {
  /**
   * The dotted path of a nested options object (`'breaker'`, `'cluster.nodes[0]'`); errors name its keys
   * by their full path.
   * @default '' (the top level)
   */
  path?: string
  /** An example of a valid object, shown when the value is not an object. */
  example?: string
}

/**
 * Throws unless `options` is a plain object whose keys are all in `known`. The message names the key by
 * its full path, suggests the known key it is closest to, and lists the known keys.
 * @param where who owns the options, e.g. `cache 'products'`; starts each message
 * @example checkOptionKeys(options.breaker, BREAKER_KEYS, 'createRedkit', { path: 'breaker' })
 */
export function checkOptionKeys(
  options: unknown,
  known: ReadonlySet<string>,
  where: string,
  { path = '', example = '' }: OptionsPath = {},
): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(
      `${where}: ${path === '' ? 'options' : path} must be an object${example ? ` such as ${example}` : ''}, got ${describeValue(options)}.`,
    )
  }
  const at = path === '' ? '' : `${path}.`
  for (const key of Object.keys(options)) {
    if (known.has(key)) continue
    const near = closest(key, known)
    throw new InvalidOptionsError(
      `${where}: unknown option '${at}${key}'${near === undefined ? '' : ` (did you mean '${at}${near}'?)`}. Known options${path === '' ? '' : ` of ${path}`}: ${[...known].join(', ')}.`,
    )
  }
}

/**
 * `value` when it is one of `allowed`; else throws a message listing them.
 * @param name the option's full path, e.g. `compression`
 */
export function checkOneOf<const T>(value: unknown, allowed: readonly T[], where: string, name: string): T {
  if (allowed.includes(value as T)) return value as T
  throw new InvalidOptionsError(
    `${where}: ${name} must be one of ${allowed.map(describeValue).join(', ')}, got ${describeValue(value)}.`,
  )
}

/** Throws unless `value` is a non-empty string of letters, digits, '_', '.' or '-' (safe inside keys). */
export function checkName(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new InvalidOptionsError(
      `${what} must be a non-empty string of letters, digits, '_', '.' or '-', got ${JSON.stringify(value)}.`,
    )
  }
}

/** A value as error messages show it: strings quoted, arrays and objects by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'object' && value !== null) return 'an object'
  return String(value)
}

/** The known key a typo most likely meant: at most 2 edits away (1 for short keys), case ignored. */
function closest(key: string, known: ReadonlySet<string>): string | undefined {
  const wanted = key.toLowerCase()
  let best: string | undefined
  let bestDistance = wanted.length <= 3 ? 1 : 2
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toLowerCase())
    if (distance < bestDistance || (distance === bestDistance && best === undefined)) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let distance = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, rows[i - 2]![j - 2]! + 1)
      }
      rows[i]![j] = distance
    }
  }
  return rows[a.length]![b.length]!
}
