// The common part of the per-tick batchers: calls made in one tick of the event loop are queued and sent
// together when it ends, so N concurrent calls cost the client one command instead of N.

interface Waiter<R> {
  resolve(reply: R): void
  reject(error: unknown): void
}

/**
 * Queues items and hands them to `send` at the end of the current tick (`process.nextTick`, which runs
 * after the microtasks of the turn, so calls those microtasks make join in), at most `maxBatch` at a time.
 * `send` resolves one reply per item, in order; any other count fails the whole batch.
 */
export class TickBatcher<I, R> {
  readonly #send: (items: I[]) => Promise<readonly R[]>
  readonly #maxBatch: number
  #items: I[] = []
  #waiters: Waiter<R>[] = []

  constructor(send: (items: I[]) => Promise<readonly R[]>, maxBatch: number) {
    this.#send = send
    this.#maxBatch = maxBatch
  }

  /** Queues `item`; resolves with its reply. */
  add(item: I): Promise<R> {
    if (this.#items.length === 0) process.nextTick(this.#flush)
    return new Promise<R>((resolve, reject) => {
      this.#items.push(item)
      this.#waiters.push({ resolve, reject })
      if (this.#items.length >= this.#maxBatch) this.#flush()
    })
  }

  readonly #flush = (): void => {
    const items = this.#items
    const waiters = this.#waiters
    if (items.length === 0) return
    this.#items = []
    this.#waiters = []
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
