// The read path of a cache: a key read from the store (one MGET per tick where that pays), its envelope
// decoded, its tag versions checked, its payload decompressed and deserialized. Corrupt data is a miss.

import { errorMessage, RedisOutOfMemoryError, RedisUnavailableError } from '../errors.js'
import { type ReadBatcher, readBatcherFor } from '../store/read-batcher.js'
import type { CacheCore } from './cache-core.js'
import { decompress } from './compression.js'
import { decodeEnvelope, type Envelope, UNDEFINED_PAYLOAD } from './envelope.js'

/** An entry as read from L2: the value and the times of its envelope. */
export interface Found<T> {
  value: T
  createdAt: number
  freshUntil: number
  staleUntil: number
  tags: string
  size: number
}

/** Nothing usable under the key (absent, expired past grace, invalidated or corrupt). */
export const MISS: unique symbol = Symbol('miss')
/** Redis could not be asked (breaker open, timeout): not the same as a miss for grace. */
export const UNAVAILABLE: unique symbol = Symbol('unavailable')
/** What a read gives: an entry (any still within grace; callers judge freshness), MISS or UNAVAILABLE. */
export type Lookup<T> = Found<T> | typeof MISS | typeof UNAVAILABLE
type Read<T> = T | typeof MISS

/** Reads and decodes the entries of one cache. */
export class EntryReader {
  readonly #core: CacheCore
  /** Single-node Redis only: on Cluster an MGET would have to be split per slot, and memory needs no batching. */
  readonly #batcher: ReadBatcher | undefined

  constructor(core: CacheCore) {
    this.#core = core
    this.#batcher = readBatcherFor(core.store)
  }

  /** Reads and decodes one key: what was found, MISS, or UNAVAILABLE (or throws it when strict). */
  read<T>(fullKey: string): Promise<Lookup<T>> {
    // A delete Redis could not take is still owed: what it holds under that key is not to be trusted.
    if (this.#core.pendingDeletes.has(fullKey)) return Promise.resolve(MISS)
    const store = this.#core.store
    return (this.#batcher ? this.#batcher.get(fullKey) : store.get(fullKey)).then(
      (raw) => (raw === null ? MISS : this.decode<T>(fullKey, raw)),
      (error: unknown) => this.#readFailed(fullKey, error),
    )
  }

  /** The stored entry when it is fresh (kept in L1 too), else undefined. */
  async readFresh<T>(fullKey: string): Promise<Found<T> | undefined> {
    const found = await this.read<T>(fullKey)
    if (typeof found !== 'object' || Date.now() >= found.freshUntil) return undefined
    this.#core.remember(fullKey, found)
    return found
  }

  /**
   * Decodes a stored envelope into what was found (any entry still within grace; callers judge
   * freshness). Corrupt data is deleted and read as MISS. Synchronous unless compressed or tag
   * versions must be fetched.
   */
  decode<T>(fullKey: string, raw: string): Lookup<T> | Promise<Lookup<T>> {
    const envelope = decodeEnvelope(raw)
    if (!envelope) return this.#corrupt(fullKey, 'not a cache envelope')
    if (envelope.staleUntil + this.#core.options.graceMs <= Date.now()) return MISS
    if (envelope.tags !== '') {
      const current = this.#core.tags().matches(envelope.tags)
      if (current === false) return this.#invalidated(fullKey)
      if (current !== true) {
        return current.then(
          (ok) => (ok ? this.#found<T>(fullKey, envelope, raw.length) : this.#invalidated(fullKey)),
          (error: unknown) => this.#readFailed(fullKey, error),
        )
      }
    }
    return this.#found<T>(fullKey, envelope, raw.length)
  }

  #readFailed(fullKey: string, error: unknown): typeof MISS | typeof UNAVAILABLE {
    // A full Redis refuses the tag-version script (it may write): unavailable for now, not a corrupt entry.
    if (error instanceof RedisUnavailableError || error instanceof RedisOutOfMemoryError) {
      this.#core.metrics.errors++
      if (this.#core.options.strict) throw error
      this.#core.logger.debug(
        { key: fullKey, error: error.message },
        'redkit: cache read failed, treated as a miss',
      )
      return UNAVAILABLE
    }
    // The store refused the command (e.g. WRONGTYPE: something else lives under our key).
    return this.#corrupt(fullKey, errorMessage(error))
  }

  #found<T>(fullKey: string, envelope: Envelope, size: number): Lookup<T> | Promise<Lookup<T>> {
    const value = this.#payload<T>(fullKey, envelope)
    // No closure on the common (synchronous) path: this runs on every L2 hit.
    if (value instanceof Promise) return value.then((read: Read<T>) => lookupOf(read, envelope, size))
    return lookupOf(value, envelope, size)
  }

  /** An entry whose tag versions are outdated: a miss, and its memory is given back now. */
  #invalidated(fullKey: string): typeof MISS {
    this.#core.store.del([fullKey]).catch(() => {
      // The sweeper or the ttl reclaims it later.
    })
    return MISS
  }

  #payload<T>(fullKey: string, envelope: Envelope): Read<T> | Promise<Read<T>> {
    if (envelope.payload === UNDEFINED_PAYLOAD) return undefined as T
    const { flags } = envelope
    if (!flags.binary && flags.compression === 'none')
      return this.#deserialize<T>(fullKey, envelope.payload, flags.tagged)
    const bytes = Buffer.from(envelope.payload, 'base64')
    if (flags.compression === 'none') return this.#deserialize<T>(fullKey, bytes, flags.tagged)
    return decompress(bytes, flags.compression).then(
      (plain) => this.#deserialize<T>(fullKey, flags.binary ? plain : plain.toString('utf8'), flags.tagged),
      (error: unknown) =>
        this.#corrupt(fullKey, `bad ${flags.compression} data: ${(error as Error).message}`),
    )
  }

  #deserialize<T>(fullKey: string, data: string | Buffer, tagged: boolean): Read<T> {
    try {
      const json = this.#core.options.json
      if (json && typeof data === 'string') return json.decode(data, tagged) as T
      return this.#core.options.serializer.deserialize(data) as T
    } catch (error) {
      return this.#corrupt(fullKey, `payload does not deserialize: ${(error as Error).message}`)
    }
  }

  #corrupt(fullKey: string, reason: string): typeof MISS {
    this.#core.metrics.corrupt++
    this.#core.logger.debug({ key: fullKey, reason }, 'redkit: corrupt cache entry deleted')
    this.#core.store.del([fullKey]).catch(() => {
      // Best effort: the entry expires by itself if Redis is unavailable right now.
    })
    return MISS
  }
}

function lookupOf<T>(read: Read<T>, envelope: Envelope, size: number): Lookup<T> {
  if (read === MISS) return MISS
  return {
    value: read,
    createdAt: envelope.createdAt,
    freshUntil: envelope.freshUntil,
    staleUntil: envelope.staleUntil,
    tags: envelope.tags,
    size,
  }
}
