// Cache warming at startup: entries given as values or factories are stored a few at a time, failures
// logged and counted rather than thrown, and progress reported after each entry.

import type { Duration } from '../config/duration.js'
import { errorMessage, InvalidOptionsError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { CacheKey } from './cache-keys.js'
import { type CacheSetOptions, checkCallOptions } from './cache-options.js'

/** One entry to warm: a value, or a factory that loads it. */
export type WarmEntry<T> =
  | { key: CacheKey; value: T; ttl?: Duration; tags?: readonly string[] }
  | { key: CacheKey; factory: () => T | Promise<T>; ttl?: Duration; tags?: readonly string[] }

/** Options of `Cache.warm`. */
export interface WarmOptions {
  /** Entries loaded at the same time. @default 8 */
  concurrency?: number
  /** Called after each entry (also emitted as the cache's `warmProgress` event). */
  onProgress?: (progress: WarmProgress) => void
}

/** Progress (and final result) of `Cache.warm`. */
export interface WarmProgress {
  /** Entries stored. */
  loaded: number
  /** Entries whose factory or write failed (logged, not thrown). */
  failed: number
}

/** What warming writes to and reports to. */
export interface WarmTarget<T> {
  namespace: string
  logger: Logger
  set(key: CacheKey, value: T, options: CacheSetOptions): Promise<void>
  /** Called with each progress snapshot, after `onProgress`. */
  progress(progress: WarmProgress): void
}

/** Stores every entry of `source`, `concurrency` at a time; resolves with the totals. */
export async function warmCache<T>(
  target: WarmTarget<T>,
  source: Iterable<WarmEntry<T>> | AsyncIterable<WarmEntry<T>>,
  options: WarmOptions,
): Promise<WarmProgress> {
  checkCallOptions(target.namespace, 'warm', options)
  const concurrency = options.concurrency ?? 8
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidOptionsError(`cache '${target.namespace}': warm concurrency must be an integer >= 1.`)
  }
  const progress: WarmProgress = { loaded: 0, failed: 0 }
  const iterator = (
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()
  ) as AsyncIterator<WarmEntry<T>> | Iterator<WarmEntry<T>>
  const report = () => {
    const snapshot = { ...progress }
    options.onProgress?.(snapshot)
    target.progress(snapshot)
  }
  const worker = async (): Promise<void> => {
    for (;;) {
      const next = await iterator.next()
      if (next.done) return
      const entry = next.value
      try {
        const value = 'factory' in entry ? await entry.factory() : entry.value
        await target.set(entry.key, value, { ttl: entry.ttl, tags: entry.tags })
        progress.loaded++
      } catch (error) {
        progress.failed++
        target.logger.warn(
          { cache: target.namespace, error: errorMessage(error) },
          'redkit: cache warm entry failed',
        )
      }
      report()
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return progress
}
