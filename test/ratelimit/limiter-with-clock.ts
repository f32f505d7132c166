// Test helper: a RateLimiter on the embedded store with a clock the test moves by hand.

import { KeyBuilder } from '../../src/keys/key-builder.js'
import { silentLogger } from '../../src/logger.js'
import { type LimiterContext, RateLimiter } from '../../src/ratelimit/limiter.js'
import type { RateLimiterOptions } from '../../src/ratelimit/limiter-options.js'
import { MemoryStore } from '../../src/store/memory/memory-store.js'

/** A limiter whose store time is `clock.now`; `advance(ms)` moves it. */
export function limiterWithClock(options: RateLimiterOptions, start = 1_700_000_000_000) {
  const clock = { now: start }
  const store = new MemoryStore({ now: () => clock.now, sweepIntervalMs: 0 })
  const context: LimiterContext = {
    store,
    keys: new KeyBuilder('test:'),
    logger: silentLogger,
    registerMetrics: () => () => {},
    onClose: () => {},
  }
  const limiter = new RateLimiter(context, 'clocked', { blockedCacheSize: 0, ...options })
  return {
    limiter,
    clock,
    advance(ms: number) {
      clock.now += ms
    },
    close: () => store.close(),
  }
}
