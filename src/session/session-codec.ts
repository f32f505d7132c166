// Turns a session into the string stored in Redis and back: a small header (last write, TTL) and the
// serialized data, optionally sealed; bare JSON from connect-redis is read in its layout.

import type { SessionCipher } from './session-cipher.js'
import type { SessionData, SessionSerializer } from './session-options.js'

const PLAIN = 'rk1:'
const SEALED = 'rk1e:'

/** A decoded session value. */
export interface DecodedSession {
  data: SessionData
  /** When it was last written (ms since epoch); absent for values written by connect-redis. */
  writtenAt?: number
  /** The TTL it was written with in ms (0: none); absent for values written by connect-redis. */
  ttlMs?: number
}

/** A value that is not a session this store can read: corrupt, sealed with an unknown key... */
export class UndecodableSessionError extends Error {}

// A key spelled with \u escapes ("__pr\u006fto__") is the same key to JSON.parse, so any escape counts.
const DANGEROUS_KEY = /"(?:__proto__|constructor)"|\\u/

/** JSON, refusing keys that would reach an object's prototype when the data is copied. */
export const jsonSerializer: SessionSerializer = {
  stringify: (data) => JSON.stringify(data),
  parse: (text) =>
    // The reviver is slow, so it only runs on the rare text that names a dangerous key at all.
    DANGEROUS_KEY.test(text)
      ? JSON.parse(text, (key, value) => (key === '__proto__' || key === 'constructor' ? undefined : value))
      : JSON.parse(text),
}

/** @internal */
export class SessionCodec {
  readonly #cipher: SessionCipher
  readonly #serializer: SessionSerializer
  readonly #legacy: boolean

  /** @param legacy read bare serialized sessions too (connect-redis layout, `hashIds: false`) */
  constructor(cipher: SessionCipher, serializer: SessionSerializer, legacy: boolean) {
    this.#cipher = cipher
    this.#serializer = serializer
    this.#legacy = legacy
  }

  encode(data: SessionData, writtenAt: number, ttlMs: number, storedId: string): string {
    const body = `${writtenAt},${ttlMs}\n${this.#serializer.stringify(data)}`
    return this.#cipher.encrypts ? SEALED + this.#cipher.seal(body, storedId) : PLAIN + body
  }

  /** @throws UndecodableSessionError */
  decode(value: string, storedId: string): DecodedSession {
    let body: string
    if (value.startsWith(PLAIN)) body = value.slice(PLAIN.length)
    else if (value.startsWith(SEALED)) {
      if (!this.#cipher.encrypts) throw new UndecodableSessionError('sealed, but no encryption keys are set')
      try {
        body = this.#cipher.open(value.slice(SEALED.length), storedId)
      } catch (error) {
        throw new UndecodableSessionError(`cannot be decrypted: ${(error as Error).message}`)
      }
    } else if (this.#legacy) {
      return { data: this.#parse(value) }
    } else {
      throw new UndecodableSessionError('unknown format')
    }
    const newline = body.indexOf('\n')
    const comma = body.indexOf(',')
    const writtenAt = Number(body.slice(0, comma))
    const ttlMs = Number(body.slice(comma + 1, newline))
    if (
      newline < 0 ||
      comma < 0 ||
      comma > newline ||
      !Number.isFinite(writtenAt) ||
      !Number.isFinite(ttlMs)
    ) {
      throw new UndecodableSessionError('malformed header')
    }
    return { data: this.#parse(body.slice(newline + 1)), writtenAt, ttlMs }
  }

  #parse(text: string): SessionData {
    let data: unknown
    try {
      data = this.#serializer.parse(text)
    } catch (error) {
      throw new UndecodableSessionError(`cannot be parsed: ${(error as Error).message}`)
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new UndecodableSessionError('is not an object')
    }
    return data as SessionData
  }
}
