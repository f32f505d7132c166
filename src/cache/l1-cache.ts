// The in-process tier: a bounded LRU (entries and bytes) of deserialized values, so an L1 hit makes no
// round trip and no parse. Entries from before a possible missed invalidation are kept apart.

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
}

/** Bounded in-process copies of cache entries. */
export class L1Cache {
  readonly #lru: LRUCache<string, L1Entry>
  #generation = 0
  #reads = 0

  constructor(options: { max: number; maxBytes: number }) {
    this.#lru = new LRUCache<string, L1Entry>({
      max: options.max,
      maxSize: options.maxBytes,
      // The size given on set is the stored payload size: a fair, cheap proxy for the memory used.
      sizeCalculation: () => 1,
    })
  }

  /** A copy that is current (made since the last {@link suspectAll}), or undefined. */
  get(key: string): L1Entry | undefined {
    // Recency is refreshed on one read in 8 (approximate LRU, as Redis itself does): moving an entry to
    // the tail on every hit would cost more than the rest of the hit path.
    const entry = (++this.#reads & 7) === 0 ? this.#lru.get(key) : this.#lru.peek(key)
    return entry !== undefined && entry.generation === this.#generation ? entry : undefined
  }

  /** Any copy, current or not: used only as a fail-safe (grace) fallback. */
  peekAny(key: string): L1Entry | undefined {
    return this.#lru.peek(key)
  }

  set(key: string, entry: Omit<L1Entry, 'generation'>, size: number): void {
    this.#lru.set(key, { ...entry, generation: this.#generation }, { size: Math.max(1, size) })
  }

  delete(key: string): void {
    this.#lru.delete(key)
  }

  clear(): void {
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
    return this.#lru.size
  }
}
