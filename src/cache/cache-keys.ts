// How a cache key becomes a store key, and a glob relative to a cache: the one place cache keys are
// formatted, so user input in key parts can never forge a separator or a glob character.

import { InvalidOptionsError } from '../errors.js'
import { encodePart, escapeGlob, type KeyPart } from '../keys/key-builder.js'

/** A cache key: a string used as is, or parts joined with `:` (each part encoded by the key builder). */
export type CacheKey = string | readonly KeyPart[]

/**
 * The full store key of a cache key under `keyPrefix`.
 * @param namespace names the cache in error messages
 * @throws InvalidOptionsError for an empty key
 */
export function cacheKeyOf(keyPrefix: string, namespace: string, key: CacheKey): string {
  if (typeof key === 'string') {
    if (key === '') throw new InvalidOptionsError(`cache '${namespace}': a key must not be empty.`)
    return keyPrefix + key
  }
  if (!Array.isArray(key) || key.length === 0) {
    throw new InvalidOptionsError(
      `cache '${namespace}': a key must be a non-empty string or a non-empty array of parts, got ${describe(key)}.`,
    )
  }
  let full = keyPrefix + encodePart(key[0])
  for (let i = 1; i < key.length; i++) full += `:${encodePart(key[i])}`
  return full
}

/** A glob relative to a cache: the parts escaped so they match only themselves, then `glob`. */
export function cachePattern(parts: readonly KeyPart[], glob: string): string {
  // No parts: the glob alone, not ':<glob>', which no key of the cache could match.
  if (parts.length === 0) return glob
  return `${escapeGlob(parts.map(encodePart).join(':'))}:${glob}`
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an empty array'
  return value === null ? 'null' : typeof value
}
