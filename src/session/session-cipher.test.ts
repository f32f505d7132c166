import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors.js'
import { SessionCipher } from './session-cipher.js'

describe('SessionCipher', () => {
  const secret = randomBytes(32)

  it('stores an HMAC of the id: stable, keyed, and not the id', () => {
    const cipher = new SessionCipher(secret)
    const id = cipher.storedId('abc')
    expect(id).toBe(cipher.storedId('abc'))
    expect(id).not.toContain('abc')
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(new SessionCipher(randomBytes(32)).storedId('abc')).not.toBe(id)
    expect(new SessionCipher(undefined).storedId('abc')).toBe('abc')
  })

  it('seals and opens; decrypts with any configured key, encrypts with the first', () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32).toString('hex')]
    const sealed = new SessionCipher(secret, [oldKey]).seal('hello', 'ctx')
    expect(sealed).not.toContain('hello')
    const rotated = new SessionCipher(secret, [newKey, oldKey])
    expect(rotated.open(sealed, 'ctx')).toBe('hello')
    const resealed = rotated.seal('hello', 'ctx')
    expect(new SessionCipher(secret, [newKey]).open(resealed, 'ctx')).toBe('hello')
    expect(() => new SessionCipher(secret, [newKey]).open(sealed, 'ctx')).toThrow(/not in encryption.keys/)
  })

  it('refuses a ciphertext under another context or tampered with', () => {
    const cipher = new SessionCipher(secret, [randomBytes(32)])
    const sealed = cipher.seal('hello', 'a')
    expect(() => cipher.open(sealed, 'b')).toThrow()
    const parts = sealed.split('.')
    parts[3] = Buffer.from('hellp').toString('base64url')
    expect(() => cipher.open(parts.join('.'), 'a')).toThrow()
    expect(() => cipher.open('garbage', 'a')).toThrow(/malformed/)
  })

  it('rejects weak secrets and keys of the wrong size', () => {
    expect(() => new SessionCipher('short')).toThrow(InvalidOptionsError)
    expect(() => new SessionCipher(secret, [randomBytes(16)])).toThrow(InvalidOptionsError)
    expect(() => new SessionCipher(secret, ['not-a-key'])).toThrow(InvalidOptionsError)
    const key = randomBytes(32)
    expect(() => new SessionCipher(secret, [key, Buffer.from(key)])).toThrow(/same key twice/)
    expect(new SessionCipher(secret, [randomBytes(32).toString('base64')]).encrypts).toBe(true)
  })
})
