// The in-process tier: a bounded LRU (entries and bytes) of deserialized values, so an L1 hit makes no
// round trip and no parse. Entries from before a possible missed invalidation are kept apart.
// lru-cache owns the bounds and the eviction order; a plain Map in front answers hits, which is what
// the hit path pays for (a Map lookup costs a third of an LRU lookup).

import { LRUCache } from 'lru-cache'

/** One value held in process, with the times of the Redis entry it copies. */
export interface L1Entry {
  value: unknown
  createdAt: number
  freshUntil: number
  staleUntil: number
  /** When this copy stops being used for hits (the L1 ttl), even if the entry is still fresh. */
  l1Until: number
  /** The entry's tag versions field ('' for none). */
  tags: string
  /** L1 generation the copy was made in; older ones may have missed an invalidation. */
  generation: number
  /** A promise already resolved with `value`, made on the first hit and handed to every later one. */
  resolved?: Promise<unknown>
}

/** Bounded in-process copies of cache entries. */
export class L1Cache {
  readonly #lru: LRUCache<string, L1Entry>
  readonly #index = new Map<string, L1Entry>()
  readonly #maxBytes: number
  #generation = 0
  #reads = 0

  constructor(options: { max: number; maxBytes: number }) {
    this.#maxBytes = options.maxBytes
    this.#lru = new LRUCache<string, L1Entry>({
      max: options.max,
      maxSize: options.maxBytes,
      // The size given on set is the stored payload size: a fair, cheap proxy for the memory used.
      sizeCalculation: () => 1,
      // Evicted or replaced: drop it from the index too (unless the index already holds its successor).
      dispose: (value, key) => {
        if (this.#index.get(key) === value) this.#index.delete(key)
      },
    })
  }

  /** A copy that is current (made since the last {@link suspectAll}), or undefined. */
  get(key: string): L1Entry | undefined {
    const entry = this.#index.get(key)
    if (entry === undefined) return undefined
    // Recency is refreshed on one hit in 8 (approximate LRU, as Redis itself does): moving an entry to
    // the tail on every hit would cost more than the rest of the hit path.
    if ((++this.#reads & 7) === 0) this.#lru.get(key)
    return entry.generation === this.#generation ? entry : undefined
  }

  /** Any copy, current or not: used only as a fail-safe (grace) fallback. */
  peekAny(key: string): L1Entry | undefined {
    return this.#index.get(key)
  }

  /** Keeps a copy of `size` bytes; one larger than `maxBytes` is not kept (and drops the older copy). */
  set(key: string, entry: Omit<L1Entry, 'generation' | 'resolved'>, size: number): void {
    const bytes = Math.max(1, size)
    if (bytes > this.#maxBytes) {
      // lru-cache refuses it too, but the index would keep it: served forever, and never evicted.
      this.delete(key)
      return
    }
    // One class, every field set up front: all copies share one shape, which keeps the hit path monomorphic.
    const stored = new L1Record(
      entry.value,
      entry.createdAt,
      entry.freshUntil,
      entry.staleUntil,
      entry.l1Until,
      entry.tags,
      this.#generation,
    )
    this.#index.set(key, stored)
    this.#lru.set(key, stored, { size: bytes })
  }

  delete(key: string): void {
    this.#index.delete(key)
    this.#lru.delete(key)
  }

  clear(): void {
    this.#index.clear()
    this.#lru.clear()
  }

  /**
   * Marks every copy as possibly outdated (invalidations may be missed while Redis is unreachable):
   * they are no longer served as hits, only kept as grace fallbacks.
   */
  suspectAll(): void {
    this.#generation++
  }

  get size(): number {
    return this.#index.size
  }

  /** Sum of the stored payload sizes of the copies held: what the `maxBytes` bound counts. */
  get bytes(): number {
    return this.#lru.calculatedSize
  }
}

class L1Record implements L1Entry {
  resolved: Promise<unknown> | undefined = undefined

  constructor(
    readonly value: unknown,
    readonly createdAt: number,
    readonly freshUntil: number,
    readonly staleUntil: number,
    readonly l1Until: number,
    readonly tags: string,
    readonly generation: number,
  ) {}
}
