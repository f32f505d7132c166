// Enforces the command timeout with one interval timer per connection instead of one timer per
// command: Redis answers in order on a connection, so "nothing answered for commandTimeout while
// commands were pending" is exactly "the oldest command timed out".

import type { Redis } from 'ioredis'

interface QueuedCommand {
  command: { reject: (error: Error) => void; isSettled?: boolean }
}

interface CommandQueue {
  readonly length: number
  peekAt(index: number): QueuedCommand | undefined
}

/** The message ioredis uses for its own per-command timeout, so both paths look the same upstream. */
export const TIMED_OUT_MESSAGE = 'Command timed out'

/**
 * Watches one single-node connection. The owner calls {@link progress} whenever a command settles and
 * reports how many are pending; when commands are pending and none settled for `timeoutMs`, every
 * pending command is rejected with "Command timed out" (their late replies, if any, are then ignored).
 * Fires between `timeoutMs` and `timeoutMs + timeoutMs / 10` after the stall began.
 */
export class CommandWatchdog {
  readonly #client: Redis
  readonly #timeoutMs: number
  readonly #pending: () => number
  readonly #timer: NodeJS.Timeout
  #progress = 0
  #seen = -1
  #stalledSince = 0

  constructor(client: Redis, timeoutMs: number, pending: () => number) {
    this.#client = client
    this.#timeoutMs = timeoutMs
    this.#pending = pending
    this.#timer = setInterval(() => this.#tick(), Math.max(5, Math.floor(timeoutMs / 10)))
    this.#timer.unref()
  }

  /** Whether this ioredis build exposes the queues the watchdog needs. */
  static supports(client: Redis): boolean {
    const queues = client as unknown as {
      commandQueue?: Partial<CommandQueue>
      offlineQueue?: Partial<CommandQueue>
    }
    return (
      typeof queues.commandQueue?.peekAt === 'function' && typeof queues.offlineQueue?.peekAt === 'function'
    )
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
    const queues = this.#client as unknown as { commandQueue: CommandQueue; offlineQueue: CommandQueue }
    const error = new Error(TIMED_OUT_MESSAGE)
    for (const queue of [queues.commandQueue, queues.offlineQueue]) {
      for (let i = 0; i < queue.length; i++) queue.peekAt(i)?.command.reject(error)
    }
  }
}
