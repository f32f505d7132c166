// Entry point of 'redkit/testing': what an app's own tests need to run redkit without a Redis server.
// The embedded store is the real one, so tests exercise the same semantics as production.

import type { RedkitOptions } from '../config/options.js'
import { createRedkit } from '../index.js'
import type { Redkit } from '../redkit.js'

export { MemoryStore } from '../store/memory/memory-store.js'

/**
 * A redkit instance on the embedded in-memory store, whatever REDIS_* variables say.
 * @example
 * const kit = createTestRedkit({ app: 'shop' })
 * afterAll(() => kit.close())
 */
export function createTestRedkit(options: Omit<RedkitOptions, 'url' | 'cluster' | 'sentinel'> = {}): Redkit {
  return createRedkit({ ...options, url: 'memory', environment: {} })
}
