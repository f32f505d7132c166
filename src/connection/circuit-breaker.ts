// Circuit breaker in front of Redis: after `threshold` consecutive failures it opens for `cooldown`,
// failing calls at once; then one half-open probe decides whether it closes or opens again.

import { EventEmitter } from 'node:events'
import { RedisUnavailableError } from '../errors.js'

/** `closed`: calls flow. `open`: calls fail at once. `half-open`: one probe call is in flight. */
export type BreakerState = 'closed' | 'open' | 'half-open'

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. @default 5 */
  threshold?: number
  /** Milliseconds the breaker stays open before letting one probe through. @default 30000 */
  cooldownMs?: number
  /** Clock, for tests. @default Date.now */
  now?: () => number
}

/** Emitted on every state change. */
export interface BreakerStateChange {
  from: BreakerState
  to: BreakerState
  /** The failure that opened the breaker, when it opened. */
  error?: unknown
}

/**
 * A consecutive-failure circuit breaker.
 *
 * `execute(fn, isFailure)` runs `fn` while the breaker is closed. A rejection for which `isFailure`
 * returns true counts; `threshold` of them in a row open the breaker, and every call then rejects
 * with {@link RedisUnavailableError} without running `fn` (no socket wait). After `cooldownMs` the next
 * call becomes the probe (state `half-open`; concurrent calls still fail fast): success closes the
 * breaker, failure opens it for another cooldown. Emits `'stateChange'` with {@link BreakerStateChange}.
 *
 * @example
 * const breaker = new CircuitBreaker({ threshold: 5, cooldownMs: 30_000 })
 * breaker.on('stateChange', ({ from, to }) => log.warn({ from, to }, 'redis breaker'))
 * await breaker.execute(() => redis.get('k'), (err) => !(err instanceof ReplyError))
 */
export class CircuitBreaker extends EventEmitter<{ stateChange: [BreakerStateChange] }> {
  readonly threshold: number
  readonly cooldownMs: number
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #lastError: unknown
  readonly #now: () => number

  constructor(options: CircuitBreakerOptions = {}) {
    super()
    this.threshold = options.threshold ?? 5
    this.cooldownMs = options.cooldownMs ?? 30_000
    this.#now = options.now ?? Date.now
  }

  /** The current state (an open breaker past its cooldown still reads `open` until a call probes). */
  get state(): BreakerState {
    return this.#state
  }

  /** Consecutive failures counted so far. */
  get failures(): number {
    return this.#failures
  }

  /** Runs `fn` through the breaker. */
  execute<T>(fn: () => Promise<T>, isFailure: (error: unknown) => boolean): Promise<T> {
    const admission = this.admit()
    if (admission instanceof Error) return Promise.reject(admission)
    return fn().then(
      (value) => {
        this.succeeded(admission)
        return value
      },
      (error: unknown) => {
        this.failed(error, admission, isFailure(error))
        throw error
      },
    )
  }

  /**
   * The allocation-free form of {@link execute} for hot paths: call `admit()` before the call; it
   * returns the error to reject with when the breaker is open, else whether this call is the probe.
   * Then report the outcome with {@link succeeded} or {@link failed}.
   */
  admit(): boolean | RedisUnavailableError {
    if (this.#state === 'closed') return false
    if (this.#state === 'half-open' || this.#now() - this.#openedAt < this.cooldownMs)
      return this.#openError()
    this.#transition('half-open')
    return true
  }

  /** Reports a successful call admitted with {@link admit}. */
  succeeded(probe: boolean): void {
    if (probe || this.#failures !== 0) this.#recordSuccess()
  }

  /** Reports a failed call admitted with {@link admit}; `counts` says whether the error is a failure. */
  failed(error: unknown, probe: boolean, counts: boolean): void {
    if (counts) this.#recordFailure(error)
    else if (probe) this.#recordSuccess()
  }

  /** Counts a failure observed outside `execute` (e.g. a connection error event). */
  recordFailure(error: unknown): void {
    this.#recordFailure(error)
  }

  /**
   * Ends the cooldown of an open breaker now, so the next call is the half-open probe: for when the
   * connection itself reports that the server is back.
   */
  expireCooldown(): void {
    if (this.#state === 'open') this.#openedAt = this.#now() - this.cooldownMs
  }

  /** Closes the breaker at once (e.g. after a successful reconnect). */
  reset(): void {
    this.#failures = 0
    if (this.#state !== 'closed') this.#transition('closed')
  }

  #recordSuccess(): void {
    this.#failures = 0
    if (this.#state !== 'closed') this.#transition('closed')
  }

  #recordFailure(error: unknown): void {
    this.#lastError = error
    this.#failures++
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#failures >= this.threshold)) {
      this.#openedAt = this.#now()
      this.#transition('open', error)
    }
  }

  #transition(to: BreakerState, error?: unknown): void {
    const from = this.#state
    this.#state = to
    this.emit('stateChange', error === undefined ? { from, to } : { from, to, error })
  }

  #openError(): RedisUnavailableError {
    const retryIn = Math.max(0, this.cooldownMs - (this.#now() - this.#openedAt))
    const reason = this.#lastError instanceof Error ? ` Last error: ${this.#lastError.message}` : ''
    return new RedisUnavailableError(
      `Redis is unavailable (circuit breaker ${this.#state}; next probe in ${retryIn} ms).${reason}`,
      { cause: this.#lastError },
    )
  }
}
