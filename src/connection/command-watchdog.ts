// Enforces the command timeout with one interval timer per connection instead of one timer per
// command: Redis answers in order on a connection, so "nothing answered for commandTimeout while
// commands were pending" is exactly "the oldest command timed out".

/**
 * Watches one single-node connection. The owner calls {@link progress} whenever a command settles and
 * reports how many are pending; when commands are pending and none settled for `timeoutMs`, `onStall`
 * runs (the owner drops the connection, which rejects every pending command, and opens a new one).
 * Fires between `timeoutMs` and `timeoutMs + timeoutMs / 10` after the stall began.
 */
export class CommandWatchdog {
  readonly #timeoutMs: number
  readonly #pending: () => number
  readonly #onStall: () => void
  readonly #timer: NodeJS.Timeout
  #progress = 0
  #seen = -1
  #stalledSince = 0

  constructor(timeoutMs: number, pending: () => number, onStall: () => void) {
    this.#timeoutMs = timeoutMs
    this.#pending = pending
    this.#onStall = onStall
    this.#timer = setInterval(() => this.#tick(), Math.max(5, Math.floor(timeoutMs / 10)))
    this.#timer.unref()
  }

  /** Called when a command settled. Cheap: one increment. */
  progress(): void {
    this.#progress++
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  #tick(): void {
    const now = Date.now()
    if (this.#pending() === 0 || this.#progress !== this.#seen) {
      this.#seen = this.#progress
      this.#stalledSince = now
      return
    }
    if (now - this.#stalledSince < this.#timeoutMs) return
    this.#stalledSince = now
    this.#onStall()
  }
}
