// The in-process "known rejected until" cache: once the store says a key is blocked or over its limit,
// this instance rejects it without a round trip until it could pass again. Cleared over the bus.

/** What is known about a rejected key. */
export interface KnownRejection {
  /** Local time (ms) from which a request may pass again. */
  until: number
  /** Smallest cost this answer holds for: a cheaper request may fit sooner, so it asks the store. */
  cost: number
  /** Units the store reported left (below `cost`). */
  remaining: number
  /** Local time (ms) the whole limit is back, as the store reported it. */
  resetAt: number
  /** True for a block (`blockFor` or `block()`): every cost is refused. */
  blocked: boolean
}

/**
 * Keys known to be rejected (blocked, or over their limit), with the local time they may pass again.
 * Bounded: past `max` entries the oldest insertions go first, and ended entries are dropped when looked up.
 */
export class BlockedCache {
  readonly #entries = new Map<string, KnownRejection>()
  readonly #max: number
  readonly #now: () => number

  constructor(max: number, now: () => number = Date.now) {
    this.#max = max
    this.#now = now
  }

  /** Local time (ms) the block of `key` ends, or `undefined` when it is not known to be blocked. */
  blockedUntil(key: string): number | undefined {
    const entry = this.lookup(key, Number.MAX_SAFE_INTEGER)
    return entry?.blocked ? entry.until : undefined
  }

  /** What is known about `key` for a request of `cost`, or `undefined` when the store must be asked. */
  lookup(key: string, cost: number): KnownRejection | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.until <= this.#now()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.blocked || cost >= entry.cost ? entry : undefined
  }

  /** Remembers that `key` is blocked for `ms` from now. */
  remember(key: string, ms: number): void {
    const now = this.#now()
    this.#set(key, { until: now + ms, cost: 1, remaining: 0, resetAt: now + ms, blocked: true }, ms)
  }

  /** Remembers that a request of `cost` on `key` cannot pass for `ms` from now. */
  rememberExceeded(key: string, ms: number, cost: number, remaining: number, resetMs: number): void {
    const now = this.#now()
    const known = this.#entries.get(key)
    // A block already known outlasts what an over-the-limit answer says.
    if (known?.blocked && known.until > now) return
    this.#set(key, { until: now + ms, cost, remaining, resetAt: now + resetMs, blocked: false }, ms)
  }

  #set(key: string, entry: KnownRejection, ms: number): void {
    if (this.#max <= 0 || ms <= 0) return
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }

  forget(key: string): void {
    this.#entries.delete(key)
  }

  clear(): void {
    this.#entries.clear()
  }

  get size(): number {
    return this.#entries.size
  }
}
