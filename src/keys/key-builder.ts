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
// Inside an array part, ',' and brackets delimit the elements, so text may not carry them raw.
const RESERVED_IN_ARRAY = /[%:{}[\],]/g
// Half of a surrogate pair: Redis stores UTF-8, where every lone half becomes the same U+FFFD bytes.
const SURROGATE = /[\ud800-\udfff]/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g
const GLOB_META = /[*?[\]\\]/g

/**
 * Builds keys from parts under a prefix. Parts are encoded so that `':'`, `'{'`, `'}'` and `'%'` in
 * user input cannot forge a separator or a hash tag, nor `','`/`'['`/`']'` an array element, nor text
 * pass for `null` (`'_'`) or a hashed object (`'h.…'`); objects become a short stable hash, so
 * `{ b: 1, a: 2 }` and `{ a: 2, b: 1 }` give the same key. A number and its decimal text are the same part.
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
  return encodeAt(part, 0)
}

// Deeper than any real key; a cycle (`a = [a]`) would otherwise end in a RangeError.
const MAX_DEPTH = 64

function tooDeep(): InvalidOptionsError {
  return new InvalidOptionsError(
    `Key parts must be plain data nested at most ${MAX_DEPTH} deep (is there a cycle?).`,
  )
}

function encodeAt(part: KeyPart, depth: number): string {
  switch (typeof part) {
    case 'string':
      return encodeText(part, RESERVED)
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
      if (Array.isArray(part)) {
        if (depth >= MAX_DEPTH) throw tooDeep()
        return `[${part.map((item: KeyPart) => encodeElement(item, depth + 1)).join(',')}]`
      }
      return `h.${hashObject(part)}`
    default:
      throw new InvalidOptionsError(
        `Key parts must be strings, numbers, booleans, arrays or plain objects, got ${typeof part}.`,
      )
  }
}

/**
 * An array element: text also escapes the element delimiters, so `['a,b']` and `['a', 'b']` differ, and
 * empty text is a lone `%` (user text never gives one), so `['']` and `[]` differ.
 */
function encodeElement(part: KeyPart, depth: number): string {
  if (typeof part !== 'string') return encodeAt(part, depth)
  return part === '' ? '%' : encodeText(part, RESERVED_IN_ARRAY)
}

/**
 * Text as it appears in a key. Besides the reserved characters, text that would read as another kind of
 * part is encoded too: exactly `_` (null/undefined), a leading `[` (an array) or `h.` (a hashed object).
 */
function encodeText(text: string, reserved: RegExp): string {
  let out = text.replace(reserved, percentEncode)
  if (SURROGATE.test(out)) out = out.replace(LONE_SURROGATE, unitEncode)
  const first = out.charCodeAt(0)
  if (
    first === 0x5b ||
    (first === 0x5f && out.length === 1) ||
    (first === 0x68 && out.charCodeAt(1) === 0x2e)
  ) {
    return percentEncode(out[0]!) + out.slice(1)
  }
  return out
}

/** `%uXXXX` for a lone surrogate: never produced by {@link percentEncode}, whose two digits follow `%` directly. */
function unitEncode(char: string): string {
  return `%u${char.charCodeAt(0).toString(16).toUpperCase()}`
}

function percentEncode(char: string): string {
  return `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`
}

function hashObject(value: object): string {
  return createHash('sha1').update(stableJson(value)).digest('base64url').slice(0, 16)
}

/** JSON with object keys sorted at every level and `undefined` members dropped, so equal objects hash equally. */
export function stableJson(value: unknown): string {
  return stableJsonAt(value, 0)
}

function stableJsonAt(value: unknown, depth: number): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return `"${value}n"`
    if (typeof value === 'function' || typeof value === 'symbol') {
      throw new InvalidOptionsError(`Key objects must hold plain data, found a ${typeof value}.`)
    }
    return JSON.stringify(value) ?? 'null'
  }
  // JSON.stringify, not toISOString: an invalid Date gives null instead of throwing a RangeError.
  if (value instanceof Date) return JSON.stringify(value)
  if (value instanceof Map || value instanceof Set) {
    // They have no own keys: every Map would hash like `{}`.
    throw new InvalidOptionsError(
      `Key objects must hold plain data, found a ${value instanceof Map ? 'Map' : 'Set'}; use an object or array.`,
    )
  }
  if (depth >= MAX_DEPTH) throw tooDeep()
  if (Array.isArray(value))
    return `[${value.map((item: unknown) => stableJsonAt(item, depth + 1)).join(',')}]`
  const entries = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map(
      (key) => `${JSON.stringify(key)}:${stableJsonAt((value as Record<string, unknown>)[key], depth + 1)}`,
    )
  return `{${entries.join(',')}}`
}
