// Checks shared by every options resolver: an options object with only known keys, and names that
// become part of keys. One wording everywhere, and the list of what is allowed in each error.

import { InvalidOptionsError } from '../errors.js'

const NAME = /^[A-Za-z0-9_.-]+$/

/**
 * Throws unless `options` is a plain object whose keys are all in `known`.
 * @param where who owns the options, e.g. `cache 'products'`; starts each message
 */
export function checkOptionKeys(
  options: unknown,
  known: ReadonlySet<string>,
  where: string,
  example = '',
): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(
      `${where}: options must be an object${example ? ` such as ${example}` : ''}.`,
    )
  }
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new InvalidOptionsError(
        `${where}: unknown option '${key}'. Known options: ${[...known].join(', ')}.`,
      )
    }
  }
}

/** Throws unless `value` is a non-empty string of letters, digits, '_', '.' or '-' (safe inside keys). */
export function checkName(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new InvalidOptionsError(
      `${what} must be a non-empty string of letters, digits, '_', '.' or '-', got ${JSON.stringify(value)}.`,
    )
  }
}
