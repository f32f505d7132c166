// Per-command deadlines for clients that spread commands over several sockets (Cluster, Sentinel), where
// "nothing answered on the connection" says nothing about one command: each call carries its start time.

import { TimeoutError } from '@redis/client'

interface Pending {
  at: number
  settled: boolean
  reject: (error: Error) => void
}

/**
 * Races each tracked promise against `timeoutMs`. Calls are kept in start order, so one interval timer
 * (at a tenth of the timeout) finds every overdue call by looking at the oldest ones only.
 */
export class CommandDeadlines {
  readonly #timeoutMs: number
  readonly #timer: NodeJS.Timeout
  #queue: Pending[] = []
  #head = 0

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs
    this.#timer = setInterval(() => this.#expire(), Math.max(5, Math.floor(timeoutMs / 10)))
    this.#timer.unref()
  }

  /** `call`, or a rejection with a `TimeoutError` once it has run for longer than the timeout. */
  track<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { at: Date.now(), settled: false, reject }
      this.#queue.push(pending)
      call.then(
        (value) => {
          pending.settled = true
          resolve(value)
        },
        (error: unknown) => {
          pending.settled = true
          reject(error)
        },
      )
    })
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  #expire(): void {
    const queue = this.#queue
    const now = Date.now()
    while (this.#head < queue.length) {
      const pending = queue[this.#head]!
      if (!pending.settled) {
        if (now - pending.at < this.#timeoutMs) break
        pending.settled = true
        pending.reject(new TimeoutError('Command timed out'))
      }
      this.#head++
    }
    if (this.#head > 1024 || this.#head === queue.length) {
      this.#queue = queue.slice(this.#head)
      this.#head = 0
    }
  }
}
