// The common part of the per-tick batchers: calls made in one tick of the event loop are queued and sent
// together when it ends, so N concurrent calls cost the client one command instead of N.

interface Waiter<R> {
  resolve(reply: R): void
  reject(error: unknown): void
}

/**
 * Queues items and hands them to `send` once the current tick's callbacks have run (`process.nextTick`,
 * which runs after the microtasks of the turn, so calls those microtasks make join in), at most
 * `maxBatch` at a time. A larger batch is split: one call now and the rest on the following turns of the
 * event loop, so the server works on one part while this process handles the reply of the previous one
 * (one call for everything made the two take turns). `send` resolves one reply per item, in order; any
 * other count fails the whole batch.
 */
export class TickBatcher<I, R> {
  readonly #send: (items: I[]) => Promise<readonly R[]>
  readonly #maxBatch: number
  #items: I[] = []
  #waiters: Waiter<R>[] = []
  #scheduled = false

  constructor(send: (items: I[]) => Promise<readonly R[]>, maxBatch: number) {
    this.#send = send
    this.#maxBatch = maxBatch
  }

  /** Queues `item`; resolves with its reply. */
  add(item: I): Promise<R> {
    if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(this.#flush)
    }
    return new Promise<R>((resolve, reject) => {
      this.#items.push(item)
      this.#waiters.push({ resolve, reject })
    })
  }

  readonly #flush = (): void => {
    this.#scheduled = false
    let items = this.#items
    let waiters = this.#waiters
    if (items.length === 0) return
    if (items.length > this.#maxBatch) {
      this.#items = items.slice(this.#maxBatch)
      this.#waiters = waiters.slice(this.#maxBatch)
      items = items.slice(0, this.#maxBatch)
      waiters = waiters.slice(0, this.#maxBatch)
      this.#scheduled = true
      setImmediate(this.#flush)
    } else {
      this.#items = []
      this.#waiters = []
    }
    this.#send(items).then(
      (replies) => {
        if (replies.length !== waiters.length) {
          const error = new TypeError(`a batch of ${waiters.length} got ${replies.length} replies`)
          for (const waiter of waiters) waiter.reject(error)
          return
        }
        for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(replies[i]!)
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error)
      },
    )
  }
}
