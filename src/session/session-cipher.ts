// Keeps session ids and payloads safe at rest: the Redis key is an HMAC of the session id, and payloads
// can be sealed with AES-256-GCM under several keys (encrypt with the first, decrypt with any) for rotation.

import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto'
import { InvalidOptionsError } from '../errors.js'

/** A 32-byte key: a Buffer, or a string in base64 (44 characters) or hex (64 characters). */
export type SessionKeyMaterial = string | Buffer

const MIN_SECRET_LENGTH = 32
const KEY_BYTES = 32
const IV_BYTES = 12
const TAG_BYTES = 16

interface SealingKey {
  /** Short id stored beside each ciphertext, so decryption picks the right key without trying them all. */
  id: string
  key: Buffer
}

/**
 * HMACs session ids and seals payloads. Built once per store from its options.
 * @internal
 */
export class SessionCipher {
  readonly #secret: Buffer | undefined
  readonly #keys: readonly SealingKey[]

  /**
   * @param secret HMAC key for ids; `undefined` keeps ids as they are (`hashIds: false`)
   * @param keys AES-256-GCM keys, newest first; empty turns encryption off
   */
  constructor(secret: string | Buffer | undefined, keys: readonly SessionKeyMaterial[] = []) {
    if (secret !== undefined) {
      const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret
      if (!Buffer.isBuffer(bytes) || bytes.length < MIN_SECRET_LENGTH) {
        throw new InvalidOptionsError(
          `sessions: secret must be at least ${MIN_SECRET_LENGTH} bytes; generate one with \`openssl rand -base64 32\`.`,
        )
      }
      this.#secret = Buffer.from(bytes)
    }
    this.#keys = keys.map((material, index) => {
      const key = parseKey(material, index)
      return { id: createHash('sha256').update(key).digest('base64url').slice(0, 6), key }
    })
    const ids = new Set(this.#keys.map((entry) => entry.id))
    if (ids.size !== this.#keys.length) {
      throw new InvalidOptionsError('sessions: encryption.keys contains the same key twice.')
    }
  }

  /** Whether payloads are sealed. */
  get encrypts(): boolean {
    return this.#keys.length > 0
  }

  /** The id as stored: HMAC-SHA256 of the session id (base64url), or the id itself without a secret. */
  storedId(sessionId: string): string {
    if (!this.#secret) return sessionId
    return createHmac('sha256', this.#secret).update(sessionId).digest('base64url')
  }

  /**
   * Seals `plain` with the first key. `context` (the stored id) is authenticated with it, so a
   * ciphertext copied under another session's key does not decrypt.
   * @returns `<key id>.<iv>.<tag>.<ciphertext>`, base64url parts
   */
  seal(plain: string, context: string): string {
    const { id, key } = this.#keys[0]!
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    cipher.setAAD(Buffer.from(context, 'utf8'))
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return `${id}.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`
  }

  /** Opens what {@link seal} produced with whichever configured key sealed it. Throws when it cannot. */
  open(sealed: string, context: string): string {
    const [id, iv, tag, body, extra] = sealed.split('.')
    if (
      id === undefined ||
      iv === undefined ||
      tag === undefined ||
      body === undefined ||
      extra !== undefined
    ) {
      throw new Error('malformed ciphertext')
    }
    const entry = this.#keys.find((candidate) => candidate.id === id)
    if (!entry) throw new Error(`sealed with key '${id}', which is not in encryption.keys`)
    const ivBytes = Buffer.from(iv, 'base64url')
    const tagBytes = Buffer.from(tag, 'base64url')
    if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw new Error('malformed ciphertext')
    const decipher = createDecipheriv('aes-256-gcm', entry.key, ivBytes)
    decipher.setAAD(Buffer.from(context, 'utf8'))
    decipher.setAuthTag(tagBytes)
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
  }
}

function parseKey(material: SessionKeyMaterial, index: number): Buffer {
  let key: Buffer | undefined
  if (Buffer.isBuffer(material)) key = material
  else if (typeof material === 'string' && /^[0-9a-f]{64}$/i.test(material))
    key = Buffer.from(material, 'hex')
  else if (typeof material === 'string' && /^[A-Za-z0-9+/_-]{43}=?$/.test(material)) {
    key = Buffer.from(material, 'base64')
  }
  if (!key || key.length !== KEY_BYTES) {
    throw new InvalidOptionsError(
      `sessions: encryption.keys[${index}] must be 32 bytes (a Buffer, 64 hex or 44 base64 characters); generate one with \`openssl rand -base64 32\`.`,
    )
  }
  return Buffer.from(key)
}
