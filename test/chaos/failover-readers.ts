// The read load of the failover scenarios: workers calling getOrSet on warm keys whose value is the key,
// recording what each caller saw (errors, wrong values, when the factory had to run, the slowest call).

import type { Cache } from '../../src/index.js'

/** What the readers saw, filled in while they run. */
export interface ReadLoad {
  errors: string[]
  /** performance.now() of every factory call: when the cache could not answer. */
  factoryAt: number[]
  calls: number
  slowestMs: number
  /** Stops the readers; resolves when each has finished its last call. */
  stop(): Promise<void>
}

/** Starts `workers` readers, each pausing 5 ms between calls, over `keys` stored with themselves as value. */
export function startReaders(cache: Cache, keys: readonly string[], workers = 8): ReadLoad {
  let stopped = false
  const load: ReadLoad = { errors: [], factoryAt: [], calls: 0, slowestMs: 0, stop: async () => {} }
  const reader = async () => {
    while (!stopped) {
      const key = keys[Math.floor(Math.random() * keys.length)]!
      const started = performance.now()
      try {
        const value = await cache.getOrSet(key, () => {
          load.factoryAt.push(performance.now())
          return key
        })
        if (value !== key) load.errors.push(`wrong value for ${key}`)
      } catch (error) {
        load.errors.push((error as Error).message)
      }
      load.calls++
      load.slowestMs = Math.max(load.slowestMs, performance.now() - started)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
  const running = Array.from({ length: workers }, reader)
  load.stop = async () => {
    stopped = true
    await Promise.all(running)
  }
  return load
}
