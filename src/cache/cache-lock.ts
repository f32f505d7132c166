// Distributed single flight for getOrSet (`lock` option): one instance builds a missing value while the
// others poll for it with a deadline, and build it themselves if the holder dies or the wait runs out.

import { randomBytes } from 'node:crypto'
import type { CacheCore } from './cache-core.js'
import type { EntryReader } from './entry-reader.js'

const LOCK_POLL_MIN_MS = 20
const LOCK_POLL_MAX_MS = 200

const RELEASE_LOCK_SCRIPT = {
  name: 'cache.releaseLock',
  lua: "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
  memory: (
    context: { get(key: string): string | null; del(key: string): number },
    keys: readonly string[],
    args: readonly string[],
  ) => (context.get(keys[0]!) === args[0] ? context.del(keys[0]!) : 0),
}

/** The lock of one cache. */
export class CacheLock {
  readonly #core: CacheCore
  readonly #reader: EntryReader
  readonly #prefix: string
  readonly #settings: { waitMs: number; ttlMs: number }

  /** @param prefix where lock keys live (outside the cache's own keys, so pattern deletes skip them) */
  constructor(
    core: CacheCore,
    reader: EntryReader,
    prefix: string,
    settings: { waitMs: number; ttlMs: number },
  ) {
    this.#core = core
    this.#reader = reader
    this.#prefix = prefix
    this.#settings = settings
    core.store.defineScript(RELEASE_LOCK_SCRIPT)
  }

  /** The value of `fullKey`: built by `build` under the lock, or the one another instance stored meanwhile. */
  async run<T>(fullKey: string, build: () => Promise<T>): Promise<T> {
    const store = this.#core.store
    const lockKey = this.#prefix + this.#core.relative(fullKey)
    const token = randomBytes(9).toString('base64url')
    const deadline = Date.now() + this.#settings.waitMs
    let pause = LOCK_POLL_MIN_MS
    for (;;) {
      let acquired: boolean | undefined
      try {
        acquired = await store.set(lockKey, token, { ttlMs: this.#settings.ttlMs, condition: 'NX' })
      } catch {
        acquired = undefined // Redis unavailable: no coordination possible, build it here
      }
      if (acquired !== false) {
        try {
          if (acquired) {
            // The holder before us may have stored the value after our read missed and released the
            // lock before we asked for it: read again, so its value is not built a second time.
            const fresh = await this.#reader.readFresh<T>(fullKey)
            if (fresh) return fresh.value
          }
          return await build()
        } finally {
          if (acquired) store.runScript(RELEASE_LOCK_SCRIPT.name, [lockKey], [token]).catch(() => {})
        }
      }
      // Another instance is building it: wait for its value, or for the lock to go (holder done or dead).
      this.#core.metrics.lockWaits++
      await new Promise((resolve) => setTimeout(resolve, pause))
      pause = Math.min(LOCK_POLL_MAX_MS, pause * 2)
      const fresh = await this.#reader.readFresh<T>(fullKey)
      if (fresh) return fresh.value
      if (Date.now() >= deadline) return build()
    }
  }
}
