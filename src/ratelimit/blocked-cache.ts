// The in-process "known blocked until" cache: once the store says a key is blocked, this instance rejects
// it without a round trip until the block ends. Per instance: another instance's reset is not seen here.

/**
 * Keys known to be blocked, with the local time their block ends. Bounded: past `max` entries the
 * oldest insertions go first, and ended blocks are dropped when looked up.
 */
export class BlockedCache {
  readonly #until = new Map<string, number>()
  readonly #max: number
  readonly #now: () => number

  constructor(max: number, now: () => number = Date.now) {
    this.#max = max
    this.#now = now
  }

  /** Local time (ms) the block of `key` ends, or `undefined` when it is not known to be blocked. */
  blockedUntil(key: string): number | undefined {
    const until = this.#until.get(key)
    if (until === undefined) return undefined
    if (until <= this.#now()) {
      this.#until.delete(key)
      return undefined
    }
    return until
  }

  /** Remembers that `key` is blocked for `ms` from now. */
  remember(key: string, ms: number): void {
    if (this.#max <= 0 || ms <= 0) return
    this.#until.delete(key)
    this.#until.set(key, this.#now() + ms)
    if (this.#until.size > this.#max) {
      const oldest = this.#until.keys().next().value
      if (oldest !== undefined) this.#until.delete(oldest)
    }
  }

  forget(key: string): void {
    this.#until.delete(key)
  }

  clear(): void {
    this.#until.clear()
  }

  get size(): number {
    return this.#until.size
  }
}
