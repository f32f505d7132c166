// Sliding window (two-counter approximation), the twin of SLIDING_WINDOW in rate-limit-lua.ts: the previous
// window's count weighted by its overlap with the sliding window; error bound in docs/rate-limiting.md.

import { type Algorithm, fieldNumber } from './algorithm.js'
import { SLIDING_WINDOW as lua } from './rate-limit-lua.js'

interface SlidingWindowState {
  index: number
  current: number
  previous: number
  elapsed: number
}

/** Sliding window (weighted previous + current counter). */
export const slidingWindow: Algorithm<SlidingWindowState> = {
  name: 'sliding-window',
  lua,
  bind({ limit, window, now }) {
    // Same operations in the same order as the Lua, so both give bit-identical doubles.
    const estimate = (s: SlidingWindowState): number =>
      (s.previous * (window - s.elapsed)) / window + s.current
    const resetMs = (s: SlidingWindowState): number => {
      if (s.current > 0) return 2 * window - s.elapsed
      if (s.previous > 0) return window - s.elapsed
      return 0
    }
    return {
      load(body) {
        const match = body === null ? null : /^(\d+) (\d+) (\d+)$/.exec(body)
        const index = Math.floor(now / window)
        const stored = fieldNumber(match?.[1])
        const s = { index, current: 0, previous: 0, elapsed: now - index * window }
        if (stored === index) {
          s.current = fieldNumber(match?.[2]) ?? 0
          s.previous = fieldNumber(match?.[3]) ?? 0
        } else if (stored === index - 1) {
          s.previous = fieldNumber(match?.[2]) ?? 0
        }
        return s
      },
      fits: (s, n) => estimate(s) + n <= limit,
      add(s, n) {
        s.current = Math.max(0, s.current + n)
      },
      remaining: (s) => Math.max(0, Math.floor(limit - estimate(s))),
      resetMs,
      retryMs(s, n) {
        const room = limit - n
        if (room < 0) return resetMs(s)
        if (s.current <= room) {
          if (s.previous <= 0) return 0
          return Math.max(0, Math.ceil(window - (window * (room - s.current)) / s.previous - s.elapsed))
        }
        return window - s.elapsed + Math.ceil(window - (window * room) / s.current)
      },
      horizon(s) {
        if (s.current > 0) return (s.index + 2) * window
        if (s.previous > 0) return (s.index + 1) * window
        return 0
      },
      encode: (s) => `${s.index} ${s.current} ${s.previous}`,
    }
  },
}
