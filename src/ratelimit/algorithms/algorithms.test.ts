// Timing behaviour of the three algorithms on the embedded store with a hand-moved clock: refills,
// window edges, retryAfterMs being exact, progressive blocks and their memory.

import { afterEach, describe, expect, it } from 'vitest'
import { limiterWithClock } from '../../../test/ratelimit/limiter-with-clock.js'

const opened: { close(): Promise<void> }[] = []
function setup(...args: Parameters<typeof limiterWithClock>) {
  const made = limiterWithClock(...args)
  opened.push(made)
  return made
}
afterEach(async () => {
  for (const made of opened.splice(0)) await made.close()
})

describe('fixed window', () => {
  it('opens with the first request and resets a window later', async () => {
    const { limiter, advance } = setup({ algorithm: 'fixed-window', limit: 2, window: 1000 })
    advance(123)
    expect((await limiter.consume('k')).allowed).toBe(true)
    advance(500)
    expect((await limiter.consume('k')).allowed).toBe(true)
    const rejected = await limiter.consume('k')
    expect(rejected).toMatchObject({ allowed: false, retryAfterMs: 500 })
    advance(499)
    expect((await limiter.consume('k')).allowed).toBe(false)
    advance(1)
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 1 })
  })
})

describe('token bucket (GCRA)', () => {
  it('allows a burst of limit, then one token per window/limit', async () => {
    const { limiter, advance } = setup({ algorithm: 'token-bucket', limit: 4, window: 1000 })
    for (let i = 0; i < 4; i++) expect((await limiter.consume('k')).allowed).toBe(true)
    const rejected = await limiter.consume('k')
    expect(rejected).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 250 })
    advance(249)
    expect((await limiter.consume('k')).allowed).toBe(false)
    advance(1)
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 0 })
    advance(1000)
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 4 })
  })

  it('a cost waits for that many tokens', async () => {
    const { limiter, advance } = setup({ algorithm: 'token-bucket', limit: 10, window: 10_000 })
    await limiter.consume('k', 10)
    expect((await limiter.consume('k', 3)).retryAfterMs).toBe(3000)
    advance(3000)
    expect((await limiter.consume('k', 3)).allowed).toBe(true)
  })
})

describe('sliding window', () => {
  it('weights the previous window by its overlap', async () => {
    const { limiter, advance, clock } = setup({ algorithm: 'sliding-window', limit: 10, window: 1000 })
    // Align to a window start, fill the window, then look a quarter into the next one.
    advance(1000 - (clock.now % 1000))
    await limiter.consume('k', 10)
    advance(1250)
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 2 })
    expect((await limiter.consume('k', 3)).allowed).toBe(false)
    expect((await limiter.consume('k', 2)).allowed).toBe(true)
  })

  it('retryAfterMs is the first moment the request fits, for many states', async () => {
    const { limiter, advance } = setup({ algorithm: 'sliding-window', limit: 7, window: 1000 })
    let seed = 7
    const random = () => {
      seed = (seed * 16807) % 2147483647
      return seed / 2147483647
    }
    for (let round = 0; round < 200; round++) {
      advance(Math.floor(random() * 400))
      const cost = 1 + Math.floor(random() * 3)
      const result = await limiter.consume(`k`, cost)
      if (result.allowed) continue
      const wait = result.retryAfterMs
      expect(wait).toBeGreaterThan(0)
      advance(wait - 1)
      expect((await limiter.peek('k')).remaining).toBeLessThan(cost)
      advance(1)
      expect((await limiter.consume('k', cost)).allowed).toBe(true)
    }
  })
})

describe('blocks', () => {
  it('double with each strike up to the cap, and strikes are forgotten after forgetAfter', async () => {
    const { limiter, advance } = setup({
      algorithm: 'fixed-window',
      limit: 1,
      window: 100_000,
      blockFor: { duration: 1000, multiplier: 2, max: 3000, forgetAfter: 5000 },
    })
    await limiter.consume('k')
    const strikes: number[] = []
    for (let i = 0; i < 4; i++) {
      const result = await limiter.consume('k')
      expect(result).toMatchObject({ allowed: false, blocked: true })
      strikes.push(result.retryAfterMs)
      expect((await limiter.consume('k')).retryAfterMs).toBe(result.retryAfterMs)
      advance(result.retryAfterMs)
    }
    expect(strikes).toEqual([1000, 2000, 3000, 3000])
    await limiter.reset('k')
    await limiter.consume('k')
    expect((await limiter.consume('k')).retryAfterMs).toBe(1000)
    advance(1000 + 5000)
    // The window still holds the request counted above; strikes are forgotten.
    expect((await limiter.consume('k')).retryAfterMs).toBe(1000)
  })
})
