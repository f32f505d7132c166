// Token bucket as GCRA, the twin of TOKEN_BUCKET in rate-limit-lua.ts: one timestamp per key (the theoretical
// arrival time); `limit` tokens of burst refilled evenly over `window`, so no window edge to exploit.

import { type Algorithm, fieldNumber } from './algorithm.js'
import { TOKEN_BUCKET as lua } from './rate-limit-lua.js'

interface TokenBucketState {
  tat: number
}

/** Token bucket (GCRA). */
export const tokenBucket: Algorithm<TokenBucketState> = {
  name: 'token-bucket',
  lua,
  bind({ limit, window, nowUs }) {
    const interval = Math.ceil((window * 1000) / limit)
    const tolerance = interval * limit
    const resetMs = (s: TokenBucketState): number => Math.ceil((s.tat - nowUs) / 1000)
    return {
      load: (body) => ({
        tat: Math.max(fieldNumber(body !== null && /^\d+$/.test(body) ? body : null) ?? 0, nowUs),
      }),
      fits: (s, n) => s.tat + n * interval - nowUs <= tolerance,
      add(s, n) {
        s.tat = Math.max(nowUs, s.tat + n * interval)
      },
      remaining: (s) => Math.max(0, Math.floor((tolerance - (s.tat - nowUs)) / interval)),
      resetMs,
      retryMs(s, n) {
        if (n > limit) return resetMs(s)
        return Math.max(0, Math.ceil((s.tat + n * interval - tolerance - nowUs) / 1000))
      },
      // Whole windows, so the key's expiry moves once per window rather than on every request.
      horizon: (s) => (s.tat > nowUs ? (Math.floor(s.tat / 1000 / window) + 2) * window : 0),
      encode: (s) => s.tat.toFixed(0),
    }
  },
}
