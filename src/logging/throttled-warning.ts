// A warning logged at most once per interval, carrying how many were suppressed since the last one:
// what a feature logs for each call that fails during an outage, without flooding the app's logs.

import type { Logger } from '../logger.js'

/** Options of {@link ThrottledWarning}. */
export interface ThrottledWarningOptions {
  /**
   * At most one warning per this many ms.
   * @default 1000
   */
  intervalMs?: number
  /**
   * The clock, for tests.
   * @default Date.now
   */
  now?: () => number
}

/** One warning message, rate-limited. */
export class ThrottledWarning {
  readonly #logger: Logger
  readonly #message: string
  readonly #intervalMs: number
  readonly #now: () => number
  #lastAt = Number.NEGATIVE_INFINITY
  #suppressed = 0

  constructor(logger: Logger, message: string, options: ThrottledWarningOptions = {}) {
    this.#logger = logger
    this.#message = message
    this.#intervalMs = options.intervalMs ?? 1000
    this.#now = options.now ?? Date.now
  }

  /**
   * Logs the warning with `fields` and `suppressed` (how many were left out since the last one), unless
   * one was logged within the interval: then it only counts. Resolves whether it logged.
   */
  warn(fields: Record<string, unknown>): boolean {
    const now = this.#now()
    if (now - this.#lastAt < this.#intervalMs) {
      this.#suppressed++
      return false
    }
    this.#logger.warn({ ...fields, suppressed: this.#suppressed }, this.#message)
    this.#lastAt = now
    this.#suppressed = 0
    return true
  }
}
