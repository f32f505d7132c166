// The result rate-limiter-flexible code expects from a limiter: the same four fields, toJSON, toString
// and console rendering as its RateLimiterRes, so handlers written for it read redkit's unchanged.

import { inspect } from 'node:util'

/** The four fields of a {@link RateLimiterRes}, as `toJSON()` gives them. */
export interface RateLimiterResJson {
  remainingPoints: number
  msBeforeNext: number
  consumedPoints: number
  isFirstInDuration: boolean
}

/**
 * The outcome of a {@link RateLimiterRedkit} call, shaped like rate-limiter-flexible's `RateLimiterRes`:
 * a call over the limit rejects with one (a store failure rejects with an `Error` instead), so the usual
 * `catch (rejection) { if (rejection instanceof Error) ... }` keeps working.
 *
 * @example
 * try {
 *   await limiter.consume(req.ip)
 * } catch (rejection) {
 *   if (rejection instanceof Error) throw rejection
 *   res.set('Retry-After', String(Math.ceil((rejection as RateLimiterRes).msBeforeNext / 1000)))
 *   res.status(429).send('Too Many Requests')
 * }
 */
export class RateLimiterRes {
  /** Points left in the current duration (`0` when over the limit or blocked). */
  readonly remainingPoints: number
  /** Milliseconds until the current duration (or block) ends. */
  readonly msBeforeNext: number
  /** Points consumed in the current duration, this call included. */
  readonly consumedPoints: number
  /** Whether this call opened the duration (the key had consumed nothing before it). */
  readonly isFirstInDuration: boolean

  /**
   * @param remainingPoints @default 0
   * @param msBeforeNext @default 0
   * @param consumedPoints @default 0
   * @param isFirstInDuration @default false
   * @example new RateLimiterRes(4, 60_000, 1, true)
   */
  constructor(remainingPoints = 0, msBeforeNext = 0, consumedPoints = 0, isFirstInDuration = false) {
    this.remainingPoints = remainingPoints
    this.msBeforeNext = msBeforeNext
    this.consumedPoints = consumedPoints
    this.isFirstInDuration = Boolean(isFirstInDuration)
  }

  /**
   * The four fields as a plain object (what `JSON.stringify` writes).
   * @example res.toJSON() // { remainingPoints: 4, msBeforeNext: 60000, consumedPoints: 1, isFirstInDuration: true }
   */
  toJSON(): RateLimiterResJson {
    return {
      remainingPoints: this.remainingPoints,
      msBeforeNext: this.msBeforeNext,
      consumedPoints: this.consumedPoints,
      isFirstInDuration: this.isFirstInDuration,
    }
  }

  /**
   * The fields as JSON text, e.g. for a log line.
   * @example String(res) // '{"remainingPoints":4,"msBeforeNext":60000,"consumedPoints":1,"isFirstInDuration":true}'
   */
  toString(): string {
    return JSON.stringify(this.toJSON())
  }

  [inspect.custom](): RateLimiterResJson {
    return this.toJSON()
  }
}
