// Gathers the reads issued in one tick into a single MGET. Under concurrency this replaces N GET
// commands (N promises, N parser entries in the client) with one, which is cheaper for both sides.

import type { Store } from './store.js'

interface Waiter {
  resolve(value: string | null): void
  reject(error: unknown): void
}

/**
 * Reads keys through the store, one MGET per tick (up to `maxBatch` keys). For single-node Redis and
 * Sentinel: on Cluster an MGET would have to be split per slot, and the embedded store needs no batching.
 */
export class ReadBatcher {
  readonly #store: Store
  readonly #maxBatch: number
  #keys: string[] = []
  #waiters: Waiter[] = []

  constructor(store: Store, maxBatch = 512) {
    this.#store = store
    this.#maxBatch = maxBatch
  }

  /** The value of `key` as text, or null; same as `store.get` except that a key of another type reads as null. */
  get(key: string): Promise<string | null> {
    // process.nextTick runs after the microtasks of this turn, so reads those microtasks issue join in.
    if (this.#keys.length === 0) process.nextTick(this.#flush)
    return new Promise<string | null>((resolve, reject) => {
      this.#keys.push(key)
      this.#waiters.push({ resolve, reject })
      if (this.#keys.length >= this.#maxBatch) this.#flush()
    })
  }

  readonly #flush = (): void => {
    const keys = this.#keys
    const waiters = this.#waiters
    if (keys.length === 0) return
    this.#keys = []
    this.#waiters = []
    if (keys.length === 1) {
      this.#store.get(keys[0]!).then(waiters[0]!.resolve, waiters[0]!.reject)
      return
    }
    this.#store.mget(keys).then(
      (values) => {
        for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(values[i] ?? null)
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error)
      },
    )
  }
}

/** A batcher where batching pays (single-node Redis, Sentinel), else undefined. */
export function readBatcherFor(store: Store): ReadBatcher | undefined {
  return store.mode === 'redis' || store.mode === 'sentinel' ? new ReadBatcher(store) : undefined
}
