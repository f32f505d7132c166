// Deletes that Redis could not take while it was away, kept and sent again once it answers: a write
// that deleted a cache entry during an outage must not find the old value served after it.

import { RedisOutOfMemoryError, RedisUnavailableError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Store } from '../store/store.js'

/** At most this many keys per cache wait for a replay; more are logged, not kept. */
const MAX_PENDING = 10_000
/** How often a replay is tried while keys wait (also right when the breaker closes). */
const RETRY_MS = 1000
/** Keys per UNLINK of a replay. */
const BATCH = 500

/**
 * The keys of one cache whose delete failed because Redis was unavailable. They are deleted again once
 * a second, and at once when the kit says Redis is back, until it works; each replayed batch is
 * announced so other instances drop their L1 copies too.
 */
export class PendingDeletes {
  readonly #store: Store
  readonly #logger: Logger
  readonly #namespace: string
  readonly #announce: (fullKeys: readonly string[]) => void
  readonly #keys = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #replaying: Promise<void> | undefined
  #dropped = 0
  #closed = false

  constructor(
    store: Store,
    logger: Logger,
    namespace: string,
    announce: (fullKeys: readonly string[]) => void,
  ) {
    this.#store = store
    this.#logger = logger
    this.#namespace = namespace
    this.#announce = announce
  }

  /** How many keys wait. */
  get size(): number {
    return this.#keys.size
  }

  /** Whether a key's delete is still owed (a read of it must not trust what Redis holds). */
  has(fullKey: string): boolean {
    return this.#keys.size > 0 && this.#keys.has(fullKey)
  }

  /** Remembers keys whose delete failed; starts the retries. */
  add(fullKeys: readonly string[]): void {
    if (this.#closed) return
    for (const key of fullKeys) {
      if (this.#keys.size >= MAX_PENDING) {
        if (this.#dropped++ === 0) {
          this.#logger.warn(
            { cache: this.#namespace, kept: MAX_PENDING },
            'redkit: too many cache deletes failed while Redis was unavailable; later ones will not be replayed',
          )
        }
        continue
      }
      this.#keys.add(key)
    }
    if (this.#timer === undefined && this.#keys.size > 0) {
      this.#timer = setInterval(() => void this.replay(), RETRY_MS)
      this.#timer.unref()
    }
  }

  /** Sends the owed deletes; keys that fail again stay for the next try. Resolves when this pass ends. */
  replay(): Promise<void> {
    if (this.#keys.size === 0 || this.#closed) return Promise.resolve()
    this.#replaying ??= this.#replayAll().finally(() => {
      this.#replaying = undefined
    })
    return this.#replaying
  }

  async #replayAll(): Promise<void> {
    const keys = [...this.#keys]
    for (let i = 0; i < keys.length; i += BATCH) {
      const batch = keys.slice(i, i + BATCH)
      try {
        await this.#store.del(batch)
      } catch (error) {
        // Still away (or refusing): the next try sends them. Anything else is logged, and tried again too.
        if (!(error instanceof RedisUnavailableError || error instanceof RedisOutOfMemoryError)) {
          this.#logger.warn(
            { cache: this.#namespace, error: (error as Error).message },
            'redkit: replaying failed cache deletes failed',
          )
        }
        return
      }
      for (const key of batch) this.#keys.delete(key)
      this.#announce(batch)
    }
    if (this.#keys.size === 0) {
      this.#logger.info(
        { cache: this.#namespace, keys: keys.length, dropped: this.#dropped },
        'redkit: cache deletes that failed during the outage were replayed',
      )
      this.#dropped = 0
      this.#stop()
    }
  }

  #stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Stops retrying (the kit is closing); what still waits is dropped. */
  close(): void {
    this.#closed = true
    this.#stop()
  }
}
