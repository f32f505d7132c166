// The batch operations of a cache: getMany, setMany and deleteMany, one round trip per node whatever
// the number of keys, with the same envelope, tag and L1 rules as their single-key twins.

import type { Duration } from '../config/duration.js'
import type { CacheCore } from './cache-core.js'
import type { CacheKey } from './cache-keys.js'
import { type EntryReader, MISS } from './entry-reader.js'
import type { EntryWriter } from './entry-writer.js'

/** One entry of `setMany`. */
export interface CacheEntry<T> {
  key: CacheKey
  value: T
  /** Overrides the cache's ttl for this entry. */
  ttl?: Duration
  /** Tags of this entry (see `kit.invalidateTags`). */
  tags?: readonly string[]
}

/** getMany, setMany and deleteMany of one cache. */
export class BatchOperations {
  readonly #core: CacheCore
  readonly #reader: EntryReader
  readonly #writer: EntryWriter

  constructor(core: CacheCore, reader: EntryReader, writer: EntryWriter) {
    this.#core = core
    this.#reader = reader
    this.#writer = writer
  }

  /** Values of many keys, in order (`undefined` for misses). */
  async getMany<T>(keys: readonly CacheKey[]): Promise<(T | undefined)[]> {
    const core = this.#core
    const fullKeys = keys.map((key) => core.keyOf(key))
    const started = performance.now()
    const raws = await core.guard(core.store.mget(fullKeys), undefined)
    const results = await Promise.all(
      fullKeys.map((fullKey, i) => {
        const raw = raws?.[i]
        return raw === undefined || raw === null ? MISS : this.#reader.decode<T>(fullKey, raw)
      }),
    )
    core.metrics.getLatency.add(performance.now() - started)
    const now = Date.now()
    return results.map((result, i) => {
      if (typeof result !== 'object' || now >= result.staleUntil) {
        core.metrics.misses++
        return undefined
      }
      core.metrics.hits++
      core.remember(fullKeys[i]!, result)
      return result.value
    })
  }

  /** Stores many values, each with its own ttl. */
  async setMany<T>(entries: readonly CacheEntry<T>[]): Promise<void> {
    const core = this.#core
    const writer = this.#writer
    const prepared = await Promise.all(
      entries.map(async (entry) => {
        const key = core.keyOf(entry.key)
        const ttlMs = core.ttlOf(entry.ttl)
        const tagged = await writer.tagsOf(entry.tags)
        return tagged === null
          ? undefined
          : {
              key,
              value: (await writer.encode(key, entry.value, ttlMs, tagged?.field)).text,
              ttlMs: core.physicalTtl(ttlMs),
              tagged,
            }
      }),
    )
    const writable = prepared.filter((entry) => entry !== undefined)
    for (const entry of writable) core.l1?.delete(core.relative(entry.key))
    await core.guard(core.store.mset(writable), undefined, 'setMany')
    core.metrics.sets += writable.length
    core.announce(writable.map((entry) => entry.key))
    await Promise.all(
      writable.map((entry) =>
        entry.tagged
          ? core.guard(
              core.tags().index(entry.tagged.tags, entry.tagged.versions, entry.key, entry.ttlMs),
              undefined,
              'setMany',
            )
          : undefined,
      ),
    )
  }

  /** Removes many entries; resolves how many existed. */
  async deleteMany(keys: readonly CacheKey[]): Promise<number> {
    const core = this.#core
    const fullKeys = keys.map((key) => core.keyOf(key))
    for (const fullKey of fullKeys) core.l1?.delete(core.relative(fullKey))
    const removed = await core.guard(core.store.del(fullKeys), -1, 'deleteMany')
    // Redis away: the deletes are owed, and sent again once it answers.
    if (removed < 0) {
      core.pendingDeletes.add(fullKeys)
      core.announce(fullKeys)
      return 0
    }
    core.metrics.deletes += removed
    core.announce(fullKeys)
    return removed
  }
}
