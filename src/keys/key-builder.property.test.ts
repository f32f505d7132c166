// Properties of the key builder over arbitrary input: keys never collide, never leave their prefix,
// never pick a Cluster slot, and SCAN patterns built from user parts match only what they name.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cacheKeyOf, cachePattern } from '../cache/cache-keys.js'
import { InvalidOptionsError } from '../errors.js'
import { compileGlob } from '../store/memory/glob.js'
import { encodePart, escapeGlob, KeyBuilder, type KeyPart, stableJson } from './key-builder.js'

const RUNS = { numRuns: 300 }

/** Characters that mean something to keys, globs, percent-encoding or UTF-8. */
const TRICKY = [':', '%', '{', '}', '[', ']', ',', '_', 'h', '.', '*', '?', '\\', '^', '-', '3', 'A']
const trickyText = fc.string({
  unit: fc.oneof(
    fc.constantFrom(...TRICKY, '\ud800', '\udc00', '\ufffd', 'é'),
    fc.string({ minLength: 1, maxLength: 1 }),
  ),
  maxLength: 8,
})
/** Any text, lone surrogates included: JSON bodies can carry them. */
const text = fc.oneof(
  trickyText,
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('_', 'h.', '[]', ''),
)

const part: fc.Arbitrary<KeyPart> = fc.letrec<{ part: KeyPart }>((tie) => ({
  part: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('part'), { maxLength: 3 }),
    fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  ),
})).part
const parts = fc.array(part, { minLength: 1, maxLength: 4 })

/**
 * What a part means: a number, bigint or boolean is the same part as its decimal text, null and
 * undefined are the same, objects are equal when their sorted JSON is. Everything else must differ.
 */
function meaning(value: KeyPart): unknown {
  if (value === null || value === undefined) return ['none']
  if (Array.isArray(value)) return ['list', value.map(meaning)]
  if (typeof value === 'object') return ['object', stableJson(value)]
  return ['text', String(value)]
}
const sameMeaning = (a: readonly KeyPart[], b: readonly KeyPart[]): boolean =>
  JSON.stringify(a.map(meaning)) === JSON.stringify(b.map(meaning))
/** Redis compares keys as UTF-8 bytes, not as UTF-16 strings. */
const bytes = (key: string): string => Buffer.from(key, 'utf8').toString('hex')

const prefix = fc.oneof(
  fc.constant('shop:prod:'),
  fc.constant(''),
  fc.string({ maxLength: 6 }).filter((p) => !/[{}]/.test(p)),
)

describe('key builder properties', () => {
  it('gives two part lists the same key exactly when they mean the same parts (compared as bytes)', () => {
    const keys = new KeyBuilder('app:')
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        expect(bytes(keys.build(...a)) === bytes(keys.build(...b))).toBe(sameMeaning(a, b))
      }),
      RUNS,
    )
  })

  it('finds no collision between near-identical lists of tricky text', () => {
    const keys = new KeyBuilder('app:')
    const flat = fc.array(fc.oneof(trickyText, fc.array(trickyText, { maxLength: 3 })), {
      minLength: 1,
      maxLength: 3,
    })
    fc.assert(
      fc.property(flat, flat, (a, b) => {
        expect(bytes(keys.build(...a)) === bytes(keys.build(...b))).toBe(sameMeaning(a, b))
      }),
      { numRuns: 500 },
    )
  })

  it('keeps every key under its prefix, and a scope is the same as its parts in front', () => {
    fc.assert(
      fc.property(prefix, parts, parts, (p, head, tail) => {
        const keys = new KeyBuilder(p)
        expect(keys.build(...head).startsWith(p)).toBe(true)
        expect(keys.scope(...head).build(...tail)).toBe(keys.build(...head, ...tail))
        expect(cacheKeyOf(p, 'ns', head)).toBe(keys.build(...head))
      }),
      RUNS,
    )
  })

  it('leaves the Cluster slot to tagged() alone: built keys have no braces, tagged keys exactly one pair', () => {
    fc.assert(
      fc.property(prefix, part, parts, (p, tag, rest) => {
        const keys = new KeyBuilder(p)
        expect(keys.build(...rest)).not.toMatch(/[{}]/)
        const tagged = keys.tagged(tag, ...rest)
        expect(tagged.startsWith(`${p}{${encodePart(tag)}}`)).toBe(true)
        expect(tagged.match(/[{}]/g)).toEqual(['{', '}'])
      }),
      RUNS,
    )
  })

  it('escapeGlob(text) matches exactly text', () => {
    const subject = (t: string) =>
      fc.oneof(fc.constant(t), text, fc.constant(`${t}x`), fc.constant(t.slice(1)))
    fc.assert(
      fc.property(
        text.chain((t) => fc.tuple(fc.constant(t), subject(t))),
        ([t, s]) => {
          expect(compileGlob(escapeGlob(t))(s)).toBe(bytes(s) === bytes(t))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('a pattern of user parts matches only keys that start with those parts', () => {
    const keys = new KeyBuilder('app:')
    const cases = fc.tuple(parts, parts, parts).map(([fixed, extra, other]) => ({
      fixed,
      // Half the subjects extend the fixed parts, so matches are tried as often as misses.
      subject: other.length % 2 === 0 ? [...fixed, ...extra] : other,
    }))
    fc.assert(
      fc.property(cases, ({ fixed, subject }) => {
        const expected = subject.length > fixed.length && sameMeaning(subject.slice(0, fixed.length), fixed)
        const key = keys.build(...subject)
        expect(compileGlob(keys.pattern(fixed))(key)).toBe(expected)
        // The cache's own pattern, placed under the cache prefix as deletePattern does.
        expect(compileGlob(escapeGlob(keys.prefix) + cachePattern(fixed, '*'))(key)).toBe(expected)
      }),
      RUNS,
    )
  })

  it('no glob can reach outside the prefix it is put under', () => {
    const glob = fc.string({
      unit: fc.constantFrom('*', '?', '[', ']', '^', '-', '\\', 'a', ':', 'é'),
      maxLength: 8,
    })
    const subject = fc.oneof(
      text,
      text.map((t) => `app:${t}`),
      text.map((t) => `ap${t}`),
    )
    fc.assert(
      fc.property(prefix, glob, subject, (p, g, s) => {
        if (compileGlob(escapeGlob(p) + g)(s)) expect(bytes(s).startsWith(bytes(p))).toBe(true)
      }),
      { numRuns: 500 },
    )
  })

  it('throws only InvalidOptionsError for anything that is not a key part', () => {
    const cyclic: unknown[] = []
    cyclic.push(cyclic)
    const cyclicObject: Record<string, unknown> = {}
    cyclicObject.self = cyclicObject
    let deep: unknown = 'deep'
    for (let i = 0; i < 100; i++) deep = [deep]
    const odd = fc.oneof(
      fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true }),
      fc.constantFrom<unknown>(
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Symbol('s'),
        () => 1,
        cyclic,
        cyclicObject,
        { d: new Date(Number.NaN) },
        { m: new Map([[1, 2]]) },
        deep,
      ),
    )
    fc.assert(
      fc.property(odd, (value) => {
        try {
          expect(typeof encodePart(value as KeyPart)).toBe('string')
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidOptionsError)
        }
      }),
      RUNS,
    )
  })
})

describe('key builder examples found by the properties', () => {
  const keys = new KeyBuilder('app:')

  it('keeps array elements apart from text holding their delimiters', () => {
    expect(keys.build(['a,b'])).not.toBe(keys.build(['a', 'b']))
    expect(keys.build('[a]')).not.toBe(keys.build(['a']))
    expect(keys.build([['a]', 'b']])).not.toBe(keys.build([['a'], 'b']))
    expect(keys.build([['']])).not.toBe(keys.build([[]]))
  })

  it('keeps text apart from null and from hashed objects', () => {
    expect(keys.build('_')).not.toBe(keys.build(null))
    const hashed = keys.build({ a: 1 }).slice('app:'.length)
    expect(keys.build(hashed)).not.toBe(keys.build({ a: 1 }))
  })

  it('keeps lone surrogates apart once encoded as UTF-8', () => {
    expect(bytes(keys.build('\ud800'))).not.toBe(bytes(keys.build('\udc00')))
    expect(bytes(keys.build('\ud800'))).not.toBe(bytes(keys.build('\ufffd')))
    expect(keys.build('😀')).toBe('app:😀')
  })

  it('refuses cycles, Maps and invalid dates with InvalidOptionsError instead of a RangeError', () => {
    const cyclic: unknown[] = []
    cyclic.push(cyclic)
    expect(() => keys.build(cyclic as KeyPart)).toThrow(InvalidOptionsError)
    const cyclicObject: Record<string, unknown> = {}
    cyclicObject.self = cyclicObject
    expect(() => keys.build(cyclicObject)).toThrow(InvalidOptionsError)
    expect(() => keys.build({ m: new Map() })).toThrow(/Map/)
    expect(keys.build({ d: new Date(Number.NaN) })).toBe(keys.build({ d: null }))
  })

  it('gives an empty cache pattern the glob alone', () => {
    expect(cachePattern([], '*')).toBe('*')
    expect(cachePattern(['user', 'a*'], '*')).toBe('user:a\\*:*')
  })
})
