// In-process single flight: concurrent callers asking for the same key share one running call,
// so a cold key under load triggers one factory call per process instead of one per request.

/** Runs at most one call per key at a time; later callers join the running one. */
export class SingleFlight<T> {
  readonly #running = new Map<string, Promise<T>>()

  /** Joins the call running for `key`, or starts `fn` as that call. */
  run(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#running.get(key)
    if (running) return running
    const call = fn().finally(() => this.#running.delete(key))
    this.#running.set(key, call)
    return call
  }

  /** Whether a call is running for `key`. */
  has(key: string): boolean {
    return this.#running.has(key)
  }

  /** Number of calls in flight. */
  get size(): number {
    return this.#running.size
  }
}
