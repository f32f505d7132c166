// Gathers the reads issued in one tick into a single MGET. Under concurrency this replaces N GET
// commands (N promises, N parser entries in the client) with one, which is cheaper for both sides.

import type { Store } from './store.js'
import { TickBatcher } from './tick-batcher.js'

/**
 * Reads keys through the store, one MGET per tick (up to `maxBatch` keys). For single-node Redis and
 * Sentinel: on Cluster an MGET would have to be split per slot, and the embedded store needs no batching.
 */
export class ReadBatcher {
  readonly #batch: TickBatcher<string, string | null>

  constructor(store: Store, maxBatch = 32) {
    this.#batch = new TickBatcher(
      (keys) => (keys.length === 1 ? store.get(keys[0]!).then((value) => [value]) : store.mget(keys)),
      maxBatch,
    )
  }

  /** The value of `key` as text, or null; same as `store.get` except that a key of another type reads as null. */
  get(key: string): Promise<string | null> {
    return this.#batch.add(key)
  }
}

/** A batcher where batching pays (single-node Redis, Sentinel), else undefined. */
export function readBatcherFor(store: Store): ReadBatcher | undefined {
  return store.mode === 'redis' || store.mode === 'sentinel' ? new ReadBatcher(store) : undefined
}
