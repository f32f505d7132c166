// What every feature (cache, limiter, sessions, revocations) receives from the Redkit instance that
// creates it: the store, bus, key builder and logger, plus a hook to report its counters.

import type { Bus } from './bus/bus.js'
import type { TagVersions } from './cache/tags/tag-versions.js'
import type { KeyBuilder } from './keys/key-builder.js'
import type { Logger } from './logger.js'
import type { Store } from './store/store.js'

/** Internal: handed to feature constructors by `Redkit`. Not part of the public API. */
export interface FeatureContext {
  store: Store
  bus: Bus
  /** Root key builder, at the app prefix. */
  keys: KeyBuilder
  logger: Logger
  /** The command timeout in ms, for features that bound their own waits. */
  commandTimeoutMs: number
  /**
   * Registers a function whose result appears in `kit.metrics()` under `section` → `name`
   * (e.g. `cache` → `products`). Returns a function that removes it.
   */
  registerMetrics(section: string, name: string, read: () => object): () => void
  /**
   * Called with `false` when Redis becomes unreachable (breaker opened) and `true` when it is back
   * (breaker closed). Never called in memory mode.
   */
  onAvailability(listener: (available: boolean) => void): void
  /** The instance's tag versions, created on first use. */
  tags(): TagVersions
  /** Registers cleanup to run on `kit.close()` before connections close (timers, subscriptions). */
  onClose(cleanup: () => void | Promise<void>): void
}
