// Properties of what the cache stores and reads back over arbitrary input: envelopes and the JSON
// serializer never crash on foreign text, never hand out prototype-bearing payloads, refuse what JSON loses.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CacheSerializationError } from '../errors.js'
import { decodeEnvelope, type Envelope, encodeEnvelope, FOREVER } from './envelope.js'
import { JsonSerializer } from './json-serializer.js'

const RUNS = { numRuns: 300 }
const json = new JsonSerializer()

/** Every own key at every depth of a decoded value. */
function ownKeysDeep(value: unknown, out: string[] = []): string[] {
  if (value !== null && typeof value === 'object') {
    for (const key of Reflect.ownKeys(value)) {
      out.push(String(key))
      ownKeysDeep((value as Record<string | symbol, unknown>)[key], out)
    }
  }
  return out
}

/** True when some object at some depth has a prototype other than Object's or Array's (or a Date's). */
function foreignPrototype(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== Date.prototype) return true
  return Object.values(value).some(foreignPrototype)
}

/** The value with -0 as 0: JSON writes both as `0`, a loss too small to refuse a value for. */
function positiveZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0
  if (Array.isArray(value)) return value.map(positiveZero)
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, positiveZero(item)]))
  }
  return value
}

/** A deep merge as apps write it: the classic way a `__proto__` key pollutes Object.prototype. */
function naiveMerge(target: Record<string, unknown>, source: unknown): void {
  if (source === null || typeof source !== 'object') return
  for (const key of Object.keys(source)) {
    const value = (source as Record<string, unknown>)[key]
    if (value !== null && typeof value === 'object') {
      if (typeof target[key] !== 'object' || target[key] === null) target[key] = {}
      naiveMerge(target[key] as Record<string, unknown>, value)
    } else {
      target[key] = value
    }
  }
}

/** Spells some characters of a JSON key as \u escapes, as an attacker hiding a key from a text scan would. */
const escapedKey = (key: string) =>
  fc
    .array(fc.boolean(), { minLength: key.length, maxLength: key.length })
    .map((mask) =>
      [...key]
        .map((char, i) => (mask[i] ? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}` : char))
        .join(''),
    )

/** JSON text with `__proto__` / `constructor.prototype` members hidden at some depth, some of them escaped. */
const poisonedJson = fc
  .tuple(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('__proto__', 'constructor', 'prototype').chain(escapedKey),
    escapedKey('prototype'),
    fc.integer({ min: 0, max: 2 }),
  )
  .map(([base, key, prototypeKey, depth]) => {
    const inner =
      key.includes('constructor') || /c.*o.*n/.test(key)
        ? `{"${key}":{"${prototypeKey}":{"polluted":"yes"}}}`
        : `{"${key}":{"polluted":"yes"}}`
    let text = `{"base":${JSON.stringify(base)},"poison":${inner}}`
    for (let i = 0; i < depth; i++) text = `[${text},{"wrap":${text}}]`
    return text
  })

describe('envelope properties', () => {
  const envelope: fc.Arbitrary<Envelope> = fc.record({
    flags: fc.record({
      binary: fc.boolean(),
      compression: fc.constantFrom('none', 'gzip', 'brotli'),
      tagged: fc.boolean(),
    }),
    createdAt: fc.integer({ min: 0, max: FOREVER }),
    freshUntil: fc.integer({ min: 0, max: FOREVER }),
    staleUntil: fc.integer({ min: 0, max: FOREVER }),
    tags: fc.string({ unit: fc.constantFrom('a', '=', ',', '1', '%', '{', '}') }),
    payload: fc.string({ unit: 'binary' }),
  })

  it('round-trips every envelope, whatever its payload holds', () => {
    fc.assert(
      fc.property(envelope, (e) => {
        expect(decodeEnvelope(encodeEnvelope(e))).toEqual(e)
      }),
      RUNS,
    )
  })

  it('reads any text as an envelope or as nothing, never throwing, never with bad times', () => {
    const header = fc.constantFrom('', 'rk1|', 'rk1|t--|', 'rk1|bgs|', 'rk1|tr-|1|', 'rk1|t-s|1|2|3|')
    const raw = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc
        .tuple(header, fc.string({ unit: fc.constantFrom('|', 'z', '0', '9', 'Z', '-', '.', ' ', 'é') }))
        .map(([h, rest]) => h + rest),
      envelope.chain((e) => fc.integer({ min: 0, max: 40 }).map((cut) => encodeEnvelope(e).slice(0, cut))),
    )
    fc.assert(
      fc.property(raw, (text) => {
        const decoded = decodeEnvelope(text)
        if (decoded === undefined) return
        for (const time of [decoded.createdAt, decoded.freshUntil, decoded.staleUntil]) {
          expect(Number.isInteger(time) && time >= 0).toBe(true)
        }
        expect(decoded.tags.includes('|')).toBe(false)
      }),
      { numRuns: 500 },
    )
  })
})

describe('JSON serializer properties', () => {
  const withExtras = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 1 }),
      fc.date({ noInvalidDate: true }),
      fc.bigInt(),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(
        fc.string().filter((key) => key !== '__proto__'),
        tie('value'),
        { maxKeys: 3 },
      ),
    ),
  })).value

  it('round-trips JSON data with Dates and BigInts, tagged or not', () => {
    fc.assert(
      fc.property(withExtras, (value) => {
        const { text, tagged } = json.encode(value)
        expect(json.decode(text, tagged)).toEqual(positiveZero(value))
        expect(json.deserialize(json.serialize(value))).toEqual(positiveZero(value))
      }),
      RUNS,
    )
  })

  it('keeps app objects shaped like its tags as written', () => {
    const lookAlike = fc.record({ $rk: fc.constantFrom('date', 'bigint'), v: fc.string() })
    fc.assert(
      fc.property(lookAlike, fc.boolean(), (value, withProtoText) => {
        // 'proto' anywhere in the text sends decoding through the reviver.
        const stored = withProtoText ? { value, note: 'prototype' } : { value }
        const { text, tagged } = json.encode(stored)
        expect(json.decode(text, tagged)).toEqual(stored)
      }),
      RUNS,
    )
  })

  it('refuses, with CacheSerializationError, any value holding something JSON would lose or mangle', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const bad = fc.constantFrom<unknown>(
      () => 1,
      Symbol('s'),
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      cyclic,
      new Map([[1, 2]]),
      new Set([1]),
      JSON.parse('{"__proto__":{"x":1}}'),
    )
    const placed = fc
      .tuple(fc.jsonValue({ maxDepth: 2 }), bad, fc.constantFrom('top', 'member', 'item', 'deep'))
      .map(([base, value, where]) => {
        if (where === 'top') return value
        if (where === 'member') return { base, value }
        if (where === 'item') return [base, value]
        return { a: [{ b: { base, c: [value] } }] }
      })
    fc.assert(
      fc.property(placed, (value) => {
        expect(() => json.encode(value)).toThrow(CacheSerializationError)
      }),
      RUNS,
    )
  })

  it('decodes any text to a value or a CacheSerializationError, never another error', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.jsonValue().map((value) => JSON.stringify(value).slice(1)),
      fc.constantFrom('{"$rk":"bigint","v":"x"}', '{"$rk":"date","v":{}}', '[', '{"a":', '\u0000'),
    )
    fc.assert(
      fc.property(text, fc.boolean(), (raw, tagged) => {
        try {
          json.decode(raw, tagged)
          json.deserialize(Buffer.from(raw, 'utf8'))
        } catch (error) {
          expect(error).toBeInstanceOf(CacheSerializationError)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('never hands out __proto__ or constructor.prototype, escaped or not, and a merge pollutes nothing', () => {
    fc.assert(
      fc.property(poisonedJson, fc.boolean(), (text, tagged) => {
        const value = json.decode(text, tagged)
        expect(ownKeysDeep(value)).not.toContain('__proto__')
        expect(foreignPrototype(value)).toBe(false)
        const target: Record<string, unknown> = {}
        naiveMerge(target, value)
        Object.assign({}, value)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        expect(Object.prototype).not.toHaveProperty('polluted')
      }),
      RUNS,
    )
  })
})

describe('JSON serializer examples found by the properties', () => {
  it('drops a __proto__ key spelled with a \\u escape', () => {
    const value = json.decode('{"a":1,"__pr\\u006fto__":{"polluted":"yes"}}', false) as object
    expect(value).toEqual({ a: 1 })
    expect(Object.hasOwn(value, '__proto__')).toBe(false)
    expect(json.decode('{"constructor":{"prot\\u006ftype":{"x":1}}}', false)).toEqual({})
  })

  it('refuses NaN and Infinity instead of storing null', () => {
    expect(() => json.encode(Number.NaN)).toThrow(CacheSerializationError)
    expect(() => json.encode({ avg: Number.POSITIVE_INFINITY })).toThrow(/Infinity \(at key 'avg'\)/)
    expect(() => json.encode([1, Number.NaN])).toThrow(/NaN/)
  })

  it('gives foreign text a CacheSerializationError', () => {
    expect(() => json.decode('{"a":', false)).toThrow(CacheSerializationError)
    expect(() => json.decode('{"$rk":"bigint","v":"x"}', true)).toThrow(CacheSerializationError)
  })

  it('turns a throwing getter into a CacheSerializationError', () => {
    const value = {
      get boom(): never {
        throw new Error('getter')
      },
    }
    expect(() => json.encode(value)).toThrow(CacheSerializationError)
  })
})
