// Properties of session decoding over arbitrary stored text: only UndecodableSessionError (which the
// store turns into SessionDataError), never another error, never prototype keys, and no forged seals.

import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SessionCipher } from './session-cipher.js'
import { jsonSerializer, SessionCodec, UndecodableSessionError } from './session-codec.js'
import type { SessionData } from './session-options.js'

const RUNS = { numRuns: 300 }
const secret = randomBytes(32)
const codecs = {
  plain: new SessionCodec(new SessionCipher(secret), jsonSerializer, false),
  legacy: new SessionCodec(new SessionCipher(undefined), jsonSerializer, true),
  sealed: new SessionCodec(
    new SessionCipher(secret, [randomBytes(32), randomBytes(32)]),
    jsonSerializer,
    false,
  ),
}
const codecName = fc.constantFrom(...(Object.keys(codecs) as (keyof typeof codecs)[]))

const data = fc
  .dictionary(
    fc.string().filter((key) => key !== '__proto__' && key !== 'constructor'),
    fc.jsonValue({ maxDepth: 2 }),
    {
      maxKeys: 4,
    },
  )
  .map((record) => ({ ...record, cookie: { maxAge: 1000 } }) as unknown as SessionData)
  // Keys the serializer drops on purpose (tested below) would break a round trip.
  .filter((session) => !/"(?:__proto__|constructor)"/.test(JSON.stringify(session)))

function ownKeysDeep(value: unknown, out: string[] = []): string[] {
  if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      out.push(key)
      ownKeysDeep((value as Record<string, unknown>)[key], out)
    }
    if (Object.hasOwn(value, '__proto__')) out.push('__proto__')
  }
  return out
}

describe('session codec properties', () => {
  it('decodes any stored text to a session or an UndecodableSessionError, never another error', () => {
    const header = fc.constantFrom('', 'rk1:', 'rk1e:', 'rk1:1,2\n', 'rk1:,\n', 'rk1e:abc.', 'rk1:x,y\n{}')
    const raw = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc
        .tuple(
          header,
          fc.string({ unit: fc.constantFrom('.', ',', '\n', '{', '}', '"', 'a', '1', '-', '_') }),
        )
        .map(([h, rest]) => h + rest),
      fc.jsonValue().map((value) => `rk1:1,2\n${JSON.stringify(value)}`),
    )
    fc.assert(
      fc.property(codecName, raw, (name, text) => {
        try {
          const decoded = codecs[name].decode(text, 'stored-id')
          expect(typeof decoded.data).toBe('object')
          expect(Array.isArray(decoded.data)).toBe(false)
        } catch (error) {
          expect(error).toBeInstanceOf(UndecodableSessionError)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('round-trips session data with its header, sealed or not', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(codecs.plain, codecs.sealed),
        data,
        fc.nat(),
        fc.nat(),
        (codec, session, writtenAt, ttlMs) => {
          const stored = codec.encode(session, writtenAt, ttlMs, 'sid')
          // As JSON keeps it: -0 comes back as 0.
          const expected = JSON.parse(JSON.stringify(session)) as SessionData
          expect(codec.decode(stored, 'sid')).toEqual({ data: expected, writtenAt, ttlMs })
        },
      ),
      RUNS,
    )
  })

  it('never opens a tampered seal as different data, nor a seal under another id', () => {
    fc.assert(
      fc.property(data, fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (session, at, char) => {
        const stored = codecs.sealed.encode(session, 1, 2, 'sid')
        const position = 'rk1e:'.length + (at % (stored.length - 'rk1e:'.length))
        const tampered = stored.slice(0, position) + char + stored.slice(position + 1)
        try {
          // base64url ignores the spare bits of a last character: such an edit changes no byte.
          expect(codecs.sealed.decode(tampered, 'sid').data).toEqual(JSON.parse(JSON.stringify(session)))
        } catch (error) {
          expect(error).toBeInstanceOf(UndecodableSessionError)
        }
        expect(() => codecs.sealed.decode(stored, 'other-sid')).toThrow(UndecodableSessionError)
      }),
      RUNS,
    )
  })

  it('drops __proto__ and constructor keys however they are spelled', () => {
    const spell = (key: string) =>
      fc
        .array(fc.boolean(), { minLength: key.length, maxLength: key.length })
        .map((mask) =>
          [...key]
            .map((c, i) => (mask[i] ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c))
            .join(''),
        )
    const poisoned = fc
      .tuple(
        fc.constantFrom('__proto__', 'constructor').chain(spell),
        spell('prototype'),
        fc.jsonValue({ maxDepth: 1 }),
      )
      .map(
        ([key, prototypeKey, base]) =>
          `{"base":${JSON.stringify(base)},"${key}":{"${prototypeKey}":{"polluted":1}},"n":{"${key}":{"polluted":1}}}`,
      )
    fc.assert(
      fc.property(poisoned, fc.boolean(), (text, legacy) => {
        const value = legacy
          ? codecs.legacy.decode(text, 'sid').data
          : codecs.plain.decode(`rk1:1,2\n${text}`, 'sid').data
        expect(ownKeysDeep(value)).not.toContain('__proto__')
        expect(ownKeysDeep(value)).not.toContain('constructor')
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      RUNS,
    )
  })
})

describe('session codec examples found by the properties', () => {
  it('drops a __proto__ key hidden behind a \\u escape', () => {
    const parsed = jsonSerializer.parse('{"__pr\\u006fto__":{"polluted":true},"ok":1}') as object
    expect(parsed).toEqual({ ok: 1 })
    expect(Object.hasOwn(parsed, '__proto__')).toBe(false)
  })
})
