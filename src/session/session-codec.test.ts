import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SessionCipher } from './session-cipher.js'
import { jsonSerializer, SessionCodec, UndecodableSessionError } from './session-codec.js'

describe('SessionCodec', () => {
  const plain = new SessionCodec(new SessionCipher(randomBytes(32)), jsonSerializer, false)

  it('round-trips data with the write time and TTL', () => {
    const value = plain.encode({ a: 1, cookie: { maxAge: 5 } }, 1000, 60_000, 'id')
    expect(value.startsWith('rk1:')).toBe(true)
    expect(plain.decode(value, 'id')).toEqual({
      data: { a: 1, cookie: { maxAge: 5 } },
      writtenAt: 1000,
      ttlMs: 60_000,
    })
  })

  it('seals with encryption keys and authenticates the stored id', () => {
    const sealed = new SessionCodec(
      new SessionCipher(randomBytes(32), [randomBytes(32)]),
      jsonSerializer,
      false,
    )
    const value = sealed.encode({ secret: 'x' }, 1, 2, 'id')
    expect(value.startsWith('rk1e:')).toBe(true)
    expect(sealed.decode(value, 'id')?.data).toEqual({ secret: 'x' })
    expect(() => sealed.decode(value, 'other')).toThrow(UndecodableSessionError)
    expect(() => plain.decode(value, 'id')).toThrow(/no encryption keys/)
  })

  it('reads bare JSON only in the connect-redis layout', () => {
    const legacy = new SessionCodec(new SessionCipher(undefined), jsonSerializer, true)
    expect(legacy.decode('{"userId":"u"}', 'sid')).toEqual({ data: { userId: 'u' } })
    expect(() => plain.decode('{"userId":"u"}', 'sid')).toThrow(/unknown format/)
  })

  it('turns corrupt values into UndecodableSessionError', () => {
    for (const bad of ['rk1:nope', 'rk1:1,2\n{', 'rk1:1,2\n[1]', 'rk1:1,2\nnull', 'rk1e:a.b.c.d']) {
      expect(() => plain.decode(bad, 'id')).toThrow(UndecodableSessionError)
    }
  })

  it('drops keys that would reach a prototype', () => {
    const parsed = jsonSerializer.parse('{"__proto__":{"polluted":true},"constructor":{"x":1},"ok":1}')
    expect(parsed).toEqual({ ok: 1 })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
