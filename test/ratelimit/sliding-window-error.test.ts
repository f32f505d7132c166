// The sliding-window approximation against an exact sliding log on the same traffic: how many requests
// each admits, and how far the admitted traffic ever goes past the limit in any window-long interval.

import { afterAll, describe, expect, it } from 'vitest'
import { limiterWithClock } from './limiter-with-clock.js'

const WINDOW = 60_000
const LIMIT = 100

/** Deterministic pseudo-random numbers in [0, 1). */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 16807) % 2147483647
    return state / 2147483647
  }
}

/** Arrival times (ms from 0) of a Poisson process at `perWindow` requests per window, over `windows`. */
function poisson(perWindow: number, windows: number, seed: number): number[] {
  const next = random(seed)
  const times: number[] = []
  let t = 0
  while (t < windows * WINDOW) {
    t += (-Math.log(1 - next()) * WINDOW) / perWindow
    times.push(Math.floor(t))
  }
  return times
}

/** Most admitted requests in any interval of one window (the exact sliding count). */
function maxInAnyWindow(admitted: readonly number[]): number {
  let most = 0
  let start = 0
  for (let end = 0; end < admitted.length; end++) {
    while (admitted[end]! - admitted[start]! >= WINDOW) start++
    most = Math.max(most, end - start + 1)
  }
  return most
}

/** The exact sliding log: admits a request when fewer than LIMIT were admitted in the last window. */
function slidingLog(arrivals: readonly number[]): number[] {
  const admitted: number[] = []
  let start = 0
  for (const t of arrivals) {
    while (start < admitted.length && t - admitted[start]! >= WINDOW) start++
    if (admitted.length - start < LIMIT) admitted.push(t)
  }
  return admitted
}

const closers: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const close of closers) await close()
})

async function approximate(arrivals: readonly number[]): Promise<number[]> {
  const made = limiterWithClock(
    { algorithm: 'sliding-window', limit: LIMIT, window: WINDOW },
    1_700_000_040_000,
  )
  closers.push(made.close)
  const start = made.clock.now
  const admitted: number[] = []
  for (const t of arrivals) {
    made.clock.now = start + t
    if ((await made.limiter.consume('k')).allowed) admitted.push(t)
  }
  return admitted
}

describe('sliding window error bound', () => {
  // Poisson arrivals (seeded, so the run is deterministic); docs/rate-limiting.md quotes the bound.
  it.each([
    ['1.05× the limit', 1.05 * LIMIT, 4],
    ['1.2× the limit', 1.2 * LIMIT, 1],
    ['2× the limit', 2 * LIMIT, 2],
    ['5× the limit', 5 * LIMIT, 3],
  ])(
    'random traffic at %s: within 5% of the exact sliding log, at most 1.2 × limit in any window',
    async (_name, rate, seed) => {
      const arrivals = poisson(rate, 30, seed)
      const approx = await approximate(arrivals)
      const exact = slidingLog(arrivals)
      expect(maxInAnyWindow(exact)).toBe(LIMIT)
      const peak = maxInAnyWindow(approx)
      expect(peak).toBeLessThanOrEqual(1.2 * LIMIT)
      expect(Math.abs(approx.length - exact.length) / exact.length).toBeLessThan(0.05)
    },
  )

  it('worst case (a whole window of traffic at the very end of the previous one) stays under 2× the limit', async () => {
    // The previous window's limit spent in its last 100 ms, then steady pressure: the estimate
    // assumes those requests were spread evenly, so the current window lets more in early.
    const arrivals: number[] = []
    for (let i = 0; i < LIMIT; i++) arrivals.push(WINDOW - 100 + i)
    for (let t = WINDOW; t < 2 * WINDOW; t += 50) arrivals.push(t)
    const approx = await approximate(arrivals)
    const peak = maxInAnyWindow(approx)
    expect(peak).toBeGreaterThan(LIMIT)
    expect(peak).toBeLessThan(2 * LIMIT)
  })
})
