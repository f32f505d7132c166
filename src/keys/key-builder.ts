// The one place that formats keys: every feature builds its keys here, under the app prefix, so user
// input can neither collide with another key, widen a SCAN pattern, nor pick a Cluster hash slot.

import { createHash } from 'node:crypto'
import { InvalidOptionsError } from '../errors.js'

/** One part of a key: text, numbers, booleans, arrays of parts, or plain objects (hashed, key order ignored). */
export type KeyPart =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | readonly KeyPart[]
  | { readonly [key: string]: unknown }

const SEPARATOR = ':'
// '%' first, so an encoded sequence can never be mistaken for user input.
const RESERVED = /[%:{}]/g
const GLOB_META = /[*?[\]\\]/g

/**
 * Builds keys from parts under a prefix. Parts are encoded so that `':'`, `'{'`, `'}'` and `'%'` in
 * user input cannot forge a separator or a hash tag; objects become a short stable hash, so
 * `{ b: 1, a: 2 }` and `{ a: 2, b: 1 }` give the same key.
 *
 * @example
 * const keys = new KeyBuilder('shop:prod:').scope('orders')
 * keys.build('company', 42, { status: 'open', page: 2 }) // 'shop:prod:orders:company:42:h.3f1c…'
 * keys.pattern(['company', userInput])                     // metacharacters in userInput escaped, '*' appended
 */
export class KeyBuilder {
  /** Everything keys of this builder start with, ending in `:` (or empty). */
  readonly prefix: string

  constructor(prefix: string) {
    if (/[{}]/.test(prefix)) {
      throw new InvalidOptionsError(
        `Key prefix '${prefix}' must not contain '{' or '}' (they select Cluster slots).`,
      )
    }
    this.prefix = prefix
  }

  /** The full key for these parts. */
  build(...parts: readonly KeyPart[]): string {
    return this.prefix + parts.map(encodePart).join(SEPARATOR)
  }

  /** A builder whose keys all live under these parts. */
  scope(...parts: readonly KeyPart[]): KeyBuilder {
    return new KeyBuilder(`${this.build(...parts)}${SEPARATOR}`)
  }

  /**
   * A key whose Cluster hash slot is chosen by `tag` only: keys with the same tag land in one slot,
   * so one Lua script may touch them together. `'{'`/`'}'` in the tag are encoded like any part.
   * @example keys.tagged(['user', id], 'sessions') // 'app:{user:42}:sessions'
   */
  tagged(tag: KeyPart, ...parts: readonly KeyPart[]): string {
    const head = `${this.prefix}{${encodePart(tag)}}`
    return parts.length === 0 ? head : head + SEPARATOR + parts.map(encodePart).join(SEPARATOR)
  }

  /**
   * A SCAN MATCH pattern: the parts (glob metacharacters escaped, so user input matches only itself)
   * followed by a raw glob.
   * @param glob appended unescaped after a separator. @default '*'
   */
  pattern(parts: readonly KeyPart[] = [], glob = '*'): string {
    const fixed = escapeGlob(this.prefix + parts.map(encodePart).join(SEPARATOR))
    if (parts.length === 0) return fixed + glob
    return fixed + SEPARATOR + glob
  }
}

/** Escapes glob metacharacters (`* ? [ ] \`) so the text matches only itself in SCAN MATCH. */
export function escapeGlob(text: string): string {
  return text.replace(GLOB_META, (char) => `\\${char}`)
}

/** Encodes one part as it appears in a key. */
export function encodePart(part: KeyPart): string {
  switch (typeof part) {
    case 'string':
      return part.replace(RESERVED, percentEncode)
    case 'number':
      if (!Number.isFinite(part)) throw new InvalidOptionsError(`Key part ${part} is not a finite number.`)
      return String(part)
    case 'bigint':
    case 'boolean':
      return String(part)
    case 'undefined':
      return '_'
    case 'object':
      if (part === null) return '_'
      if (Array.isArray(part)) return `[${part.map(encodePart).join(',')}]`
      return `h.${hashObject(part)}`
    default:
      throw new InvalidOptionsError(
        `Key parts must be strings, numbers, booleans, arrays or plain objects, got ${typeof part}.`,
      )
  }
}

function percentEncode(char: string): string {
  return `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`
}

function hashObject(value: object): string {
  return createHash('sha1').update(stableJson(value)).digest('base64url').slice(0, 16)
}

/** JSON with object keys sorted at every level and `undefined` members dropped, so equal objects hash equally. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return `"${value}n"`
    if (typeof value === 'function' || typeof value === 'symbol') {
      throw new InvalidOptionsError(`Key objects must hold plain data, found a ${typeof value}.`)
    }
    return JSON.stringify(value) ?? 'null'
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  const entries = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
  return `{${entries.join(',')}}`
}
