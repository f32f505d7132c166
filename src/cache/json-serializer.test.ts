import { describe, expect, it } from 'vitest'
import { CacheSerializationError } from '../errors.js'
import { JsonSerializer } from './json-serializer.js'

const json = new JsonSerializer()

describe('JsonSerializer', () => {
  it('encodes plain data without tags and restores it', () => {
    const value = { a: [1, 'x', null, { b: true }], s: 'ü🚀' }
    const encoded = json.encode(value)
    expect(encoded).toEqual({ text: JSON.stringify(value), tagged: false })
    expect(json.decode(encoded.text, encoded.tagged)).toEqual(value)
  })

  it('tags Date and BigInt (also nested and invalid dates) and restores them', () => {
    const value = { at: new Date('2020-01-02T03:04:05.006Z'), n: -(2n ** 70n), list: [new Date(Number.NaN)] }
    const encoded = json.encode(value)
    expect(encoded.tagged).toBe(true)
    const back = json.decode(encoded.text, true) as typeof value
    expect(back.at).toEqual(value.at)
    expect(back.n).toBe(value.n)
    expect(Number.isNaN(back.list[0]!.getTime())).toBe(true)
    expect(json.deserialize(json.serialize(value))).toEqual(value)
  })

  it('leaves look-alike user data alone when the payload was not tagged', () => {
    const value = { $rk: 'date', v: '2020-01-01T00:00:00.000Z' }
    const encoded = json.encode(value)
    expect(json.decode(encoded.text, encoded.tagged)).toEqual(value)
  })

  it.each([
    ['a function', { f: () => 1 }, /function \(at key 'f'\)/],
    ['a symbol', [Symbol('s')], /symbol/],
    ['a Map', { m: new Map() }, /Map \(at key 'm'\)/],
    ['a Set', new Set([1]), /Set/],
    ['undefined', undefined, /undefined/],
    ['an own __proto__ key', JSON.parse('{"__proto__":{"x":1}}'), /__proto__/],
  ])('refuses %s', (_name, value, message) => {
    expect(() => json.encode(value)).toThrow(CacheSerializationError)
    expect(() => json.encode(value)).toThrow(message)
  })

  it('refuses cycles and very deep values are still encoded', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.me = cyclic
    expect(() => json.encode(cyclic)).toThrow(CacheSerializationError)
    let deep: unknown = 'leaf'
    for (let i = 0; i < 100; i++) deep = { d: deep }
    expect(json.decode(json.encode(deep).text, false)).toEqual(deep)
  })

  it('strips __proto__ and constructor.prototype when decoding', () => {
    const text = '{"ok":1,"__proto__":{"polluted":1},"nested":{"constructor":{"prototype":{"p":1}},"keep":2}}'
    const value = json.decode(text, false) as Record<string, unknown>
    expect(value).toEqual({ ok: 1, nested: { keep: 2 } })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
