// The write path of a cache: values encoded into envelopes (serialized, size-checked, compressed), stored
// with their tag versions and tag index, the L1 copy kept and other instances told; expire and delete too.

import { CacheSerializationError, CacheValueTooLargeError } from '../errors.js'
import type { CacheCore } from './cache-core.js'
import { type CacheSetOptions, checkCallOptions } from './cache-options.js'
import { compress } from './compression.js'
import type { EntryReader } from './entry-reader.js'
import { decodeEnvelope, type Envelope, encodeEnvelope, FOREVER, UNDEFINED_PAYLOAD } from './envelope.js'

/** An encoded entry: the stored text and the envelope times it carries (for the L1 copy). */
export interface EncodedEntry {
  text: string
  createdAt: number
  freshUntil: number
  staleUntil: number
  tags: string
}

/** The tags of a write with the versions they had when it began, and the envelope field recording them. */
export interface TaggedWrite {
  tags: string[]
  versions: string[]
  field: string
}

const CAS_SCRIPT = {
  name: 'cache.compareAndSet',
  lua: "if redis.call('GET', KEYS[1]) == ARGV[1] then if ARGV[3] == '0' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return 1 end return 0",
  memory: (
    context: { get(key: string): string | null; set(k: string, v: string, o?: { ttlMs?: number }): boolean },
    keys: readonly string[],
    args: readonly string[],
  ) => {
    if (context.get(keys[0]!) !== args[0]) return 0
    const ttlMs = Number(args[2])
    context.set(keys[0]!, args[1]!, ttlMs > 0 ? { ttlMs } : undefined)
    return 1
  },
}

/** Writes the entries of one cache. */
export class EntryWriter {
  readonly #core: CacheCore
  readonly #reader: EntryReader

  constructor(core: CacheCore, reader: EntryReader) {
    this.#core = core
    this.#reader = reader
    core.store.defineScript(CAS_SCRIPT)
  }

  /** Stores a value (see `Cache.set`). */
  async set(fullKey: string, value: unknown, options: CacheSetOptions | undefined): Promise<void> {
    checkCallOptions(this.#core.namespace, 'set', options)
    const ttlMs = this.#core.ttlOf(options?.ttl)
    const tagged = await this.tagsOf(options?.tags)
    if (tagged === null) return
    const encoded = await this.encode(fullKey, value, ttlMs, tagged?.field)
    await this.write(fullKey, encoded, ttlMs, tagged, 'set', { value })
  }

  /** Removes an entry; resolves whether it existed. */
  async delete(fullKey: string): Promise<boolean> {
    const core = this.#core
    core.l1?.delete(core.relative(fullKey))
    const removed = await core.guard(core.store.del([fullKey]), -1, 'delete')
    // Redis away: the delete is owed, and sent again once it answers.
    if (removed < 0) {
      core.pendingDeletes.add([fullKey])
      core.announce([fullKey])
      return false
    }
    core.metrics.deletes += removed
    core.announce([fullKey])
    return removed > 0
  }

  /** Gives an existing entry a new ttl from now (see `Cache.expire`). */
  async expire(fullKey: string, ttlMs: number): Promise<boolean> {
    const core = this.#core
    const raw = await core.guard(core.store.get(fullKey), undefined)
    if (raw === undefined || raw === null) return false
    // Only what get would serve: an invalidated or expired entry must not come back to life.
    const found = await this.#reader.decode(fullKey, raw)
    const now = Date.now()
    if (typeof found !== 'object' || now >= found.staleUntil) return false
    const envelope = decodeEnvelope(raw)!
    const freshUntil = ttlMs === 0 ? FOREVER : now + ttlMs
    const staleUntil = ttlMs === 0 ? FOREVER : freshUntil + core.options.swrMs
    const next = encodeEnvelope({ ...envelope, freshUntil, staleUntil })
    const reply = await core.guard(
      core.store.runScript(CAS_SCRIPT.name, [fullKey], [raw, next, core.physicalTtl(ttlMs)]),
      0,
    )
    core.l1?.delete(core.relative(fullKey))
    core.announce([fullKey])
    return reply === 1
  }

  /** Writes an encoded entry, indexes it under its tags, keeps the L1 copy and tells other instances. */
  async write(
    fullKey: string,
    encoded: EncodedEntry,
    ttlMs: number,
    tagged: TaggedWrite | undefined,
    operation: string,
    keep?: { value: unknown },
  ): Promise<void> {
    const core = this.#core
    const physicalMs = core.physicalTtl(ttlMs)
    core.l1?.delete(core.relative(fullKey))
    const write = core.store.set(fullKey, encoded.text, physicalMs > 0 ? { ttlMs: physicalMs } : undefined)
    const index = tagged ? core.tags().index(tagged.tags, tagged.versions, fullKey, physicalMs) : undefined
    // Awaited after the write; when the write throws first (the kit was closed), its rejection must not go unhandled.
    index?.catch(() => {})
    if (await core.guard(write, false, operation)) {
      core.metrics.sets++
      if (keep !== undefined) {
        core.remember(fullKey, {
          value: keep.value,
          createdAt: encoded.createdAt,
          freshUntil: encoded.freshUntil,
          staleUntil: encoded.staleUntil,
          tags: encoded.tags,
          size: encoded.text.length,
        })
      }
      core.announce([fullKey])
    }
    if (index) await core.guard(index, undefined, operation)
  }

  /**
   * Current versions of the given tags: undefined without tags, null when Redis is unavailable
   * (the write is then skipped, as any write would be), else what the envelope and index need.
   */
  async tagsOf(rawTags: readonly string[] | undefined): Promise<TaggedWrite | undefined | null> {
    if (rawTags === undefined || rawTags.length === 0) return undefined
    const versionsOwner = this.#core.tags()
    const tags = versionsOwner.encode(rawTags)
    const versions = await this.#core.guard(versionsOwner.current(tags), null, 'tags')
    if (versions === null) return null
    return { tags, versions, field: versionsOwner.field(tags, versions) }
  }

  /**
   * The envelope of a value: serialized, refused above `maxSize`, compressed above `compressThreshold`.
   * @throws CacheSerializationError, CacheValueTooLargeError
   */
  async encode(fullKey: string, value: unknown, ttlMs: number, tagsField = ''): Promise<EncodedEntry> {
    const now = Date.now()
    const freshUntil = ttlMs === 0 ? FOREVER : now + ttlMs
    const options = this.#core.options
    const namespace = this.#core.namespace
    let text: string | undefined
    let bytes: Buffer | undefined
    let tagged = false
    if (value === undefined) {
      text = UNDEFINED_PAYLOAD
    } else if (options.json) {
      ;({ text, tagged } = options.json.encode(value))
    } else {
      const out = options.serializer.serialize(value)
      if (typeof out === 'string') text = out
      else if (Buffer.isBuffer(out)) bytes = out
      else
        throw new CacheSerializationError(
          `cache '${namespace}': serializer returned neither a string nor a Buffer.`,
        )
      if (text === UNDEFINED_PAYLOAD) {
        throw new CacheSerializationError(`cache '${namespace}': serializer returned an empty string.`)
      }
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: short text needs no exact count.
    const size = bytes
      ? bytes.length
      : text!.length * 3 <= options.compressThreshold
        ? 0
        : Buffer.byteLength(text!)
    if (size > options.maxSize) throw new CacheValueTooLargeError(fullKey, size, options.maxSize)
    let payload: string
    let compression: Envelope['flags']['compression'] = 'none'
    if (options.compression && size > options.compressThreshold) {
      compression = options.compression
      payload = (await compress(bytes ?? Buffer.from(text!, 'utf8'), options.compression)).toString('base64')
    } else {
      payload = bytes ? bytes.toString('base64') : text!
    }
    const staleUntil = ttlMs === 0 ? FOREVER : freshUntil + options.swrMs
    const stored = encodeEnvelope({
      flags: { binary: bytes !== undefined, compression, tagged },
      createdAt: now,
      freshUntil,
      staleUntil,
      tags: tagsField,
      payload,
    })
    return { text: stored, createdAt: now, freshUntil, staleUntil, tags: tagsField }
  }
}
