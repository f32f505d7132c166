// Fixed window, the twin of FIXED_WINDOW in rate-limit-lua.ts: a counter opened by the first request and
// reset `window` ms later. Cheapest, but a burst at a window edge can pass twice the limit.

import { type Algorithm, fieldNumber } from './algorithm.js'
import { FIXED_WINDOW as lua } from './rate-limit-lua.js'

interface FixedWindowState {
  ends: number
  count: number
}

/** Fixed window counter. */
export const fixedWindow: Algorithm<FixedWindowState> = {
  name: 'fixed-window',
  lua,
  bind({ limit, window, now }) {
    const resetMs = (s: FixedWindowState): number => (s.count > 0 ? s.ends - now : 0)
    return {
      load(body) {
        const match = body === null ? null : /^(\d+) (\d+)$/.exec(body)
        const ends = fieldNumber(match?.[1]) ?? 0
        if (ends <= now) return { ends: 0, count: 0 }
        return { ends, count: fieldNumber(match?.[2]) ?? 0 }
      },
      fits: (s, n) => s.count + n <= limit,
      add(s, n) {
        if (s.ends <= now) s.ends = now + window
        s.count = Math.max(0, s.count + n)
      },
      remaining: (s) => Math.max(0, limit - s.count),
      resetMs,
      retryMs: (s) => resetMs(s),
      horizon: (s) => (s.count > 0 ? s.ends : 0),
      encode: (s) => `${s.ends} ${s.count}`,
    }
  },
}
