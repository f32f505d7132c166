// The default cache serializer: JSON that keeps Date and BigInt, refuses values JSON would silently
// mangle, and never lets `__proto__` or `constructor.prototype` in a stored payload reach a caller.

import { CacheSerializationError, errorMessage } from '../errors.js'

/**
 * Turns cache values into text or bytes and back. Pluggable per cache.
 * @example
 * // msgpackr: binary, faster for large values, keeps Date/Map/Set
 * import { pack, unpack } from 'msgpackr'
 * kit.cache('products', { serializer: { serialize: (v) => pack(v), deserialize: (b) => unpack(b as Buffer) } })
 */
export interface CacheSerializer {
  /** Value to text or bytes. Throw to refuse a value. */
  serialize(value: unknown): string | Buffer
  /** Text or bytes (whatever `serialize` produced) back to a value. Throw on bad data. */
  deserialize(data: string | Buffer): unknown
}

/** Output of {@link JsonSerializer.encode}: the JSON text and whether it holds tagged Date/BigInt values. */
export interface EncodedJson {
  text: string
  tagged: boolean
}

const TAG = '$rk'

/**
 * JSON with explicit Date and BigInt support: both are written as `{"$rk":"date"|"bigint","v":...}` and
 * restored on read. Functions, symbols, cycles, Maps, Sets, NaN and ±Infinity are refused with
 * {@link CacheSerializationError};
 * `undefined` members are dropped (as JSON does). On read, `__proto__` keys and `constructor.prototype`
 * are removed, so a poisoned payload cannot pollute prototypes when the caller merges it.
 */
export class JsonSerializer implements CacheSerializer {
  serialize(value: unknown): string {
    return this.encode(value).text
  }

  deserialize(data: string | Buffer): unknown {
    const text = typeof data === 'string' ? data : data.toString('utf8')
    return this.decode(text, text.includes(`"${TAG}"`))
  }

  /** Encodes and says whether a reviver will be needed to decode. */
  encode(value: unknown): EncodedJson {
    let tagged = false
    let text: string | undefined
    try {
      // Most values are plain data: a quick walk proves it and plain JSON.stringify (2-3x faster than
      // one with a replacer) does the rest.
      if (isPlainData(value, 0)) return { text: JSON.stringify(value), tagged: false }
      text = JSON.stringify(
        value,
        function replacer(this: Record<string, unknown>, key: string, current: unknown) {
          if (key === '__proto__') {
            throw new CacheSerializationError("Refusing to cache an object with an own '__proto__' key.")
          }
          const original = this[key]
          if (original instanceof Date) {
            tagged = true
            return { [TAG]: 'date', v: Number.isNaN(original.getTime()) ? null : original.toISOString() }
          }
          if (original instanceof Map || original instanceof Set) {
            throw new CacheSerializationError(
              `Cannot cache a ${original instanceof Map ? 'Map' : 'Set'}${key ? ` (at key '${key}')` : ''} as JSON; convert it to an object or array, or use a serializer such as msgpackr.`,
            )
          }
          switch (typeof current) {
            case 'bigint':
              tagged = true
              return { [TAG]: 'bigint', v: current.toString() }
            case 'function':
            case 'symbol':
              throw new CacheSerializationError(
                `Cannot cache a ${typeof current}${key ? ` (at key '${key}')` : ''}; cache plain data only.`,
              )
            case 'number':
              if (Number.isFinite(current)) return current
              throw new CacheSerializationError(
                `Cannot cache ${current}${key ? ` (at key '${key}')` : ''}: JSON would store it as null; store null or a string instead.`,
              )
            default:
              return current
          }
        },
      )
    } catch (error) {
      if (error instanceof CacheSerializationError) throw error
      throw new CacheSerializationError(`Value cannot be cached as JSON: ${errorMessage(error)}`, {
        cause: error,
      })
    }
    if (text === undefined) {
      throw new CacheSerializationError(
        'Cannot cache undefined as a JSON value (use cacheNullish with null instead).',
      )
    }
    return { text, tagged }
  }

  /**
   * Decodes text produced by {@link encode}; `tagged` says whether Date/BigInt tags may be present.
   * @throws CacheSerializationError for text that is not JSON (or not what {@link encode} writes)
   */
  decode(text: string, tagged: boolean): unknown {
    try {
      // 'proto' covers both "__proto__" and "prototype"; a plain includes() is the cheapest scan. A key
      // spelled with \u escapes ("__pr\u006fto__") hides from it, so any escape takes the reviver too.
      if (tagged) return JSON.parse(text, reviver)
      if (!text.includes('proto') && !text.includes('\\u')) return JSON.parse(text)
      // Untagged: an object of the app's shaped like a tag stays as it was written.
      return JSON.parse(text, safeReviver)
    } catch (error) {
      throw new CacheSerializationError(`Cached payload is not valid JSON: ${errorMessage(error)}`, {
        cause: error,
      })
    }
  }
}

const MAX_PLAIN_DEPTH = 64

/** True when JSON.stringify alone encodes `value` faithfully: only plain objects, arrays and primitives. */
function isPlainData(value: unknown, depth: number): boolean {
  if (value === null) return true
  const type = typeof value
  if (type === 'number') return Number.isFinite(value)
  if (type !== 'object') return type === 'string' || type === 'boolean'
  if (depth > MAX_PLAIN_DEPTH) return false
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainData(value[i], depth + 1)) return false
    return true
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  for (const key in value as Record<string, unknown>) {
    if (key === '__proto__' || !isPlainData((value as Record<string, unknown>)[key], depth + 1)) return false
  }
  return true
}

/** Drops what could reach a prototype: `__proto__` keys and `constructor.prototype`. */
function safeReviver(key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined
  if (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value) {
    return undefined
  }
  return value
}

function reviver(key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>
    if (key === 'constructor' && 'prototype' in record) return undefined
    if (typeof record[TAG] === 'string' && Object.keys(record).length === 2 && 'v' in record) {
      if (record[TAG] === 'date')
        return record.v === null ? new Date(Number.NaN) : new Date(record.v as string)
      if (record[TAG] === 'bigint') return BigInt(record.v as string)
    }
  }
  return value
}
