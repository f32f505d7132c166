// Pattern deletes of a cache: SCAN on every master (never KEYS) and UNLINK in batches, then every
// instance's L1 of the cache is flushed, since any of its copies may have matched.

import { InvalidOptionsError } from '../errors.js'
import { escapeGlob } from '../keys/key-builder.js'
import type { CacheCore } from './cache-core.js'

const DELETE_BATCH = 1000

/** Removes every entry of the cache whose key (relative to the cache) matches `glob`; resolves how many. */
export async function deletePattern(core: CacheCore, glob: string): Promise<number> {
  if (typeof glob !== 'string' || glob === '') {
    throw new InvalidOptionsError(`cache '${core.namespace}': deletePattern needs a non-empty glob string.`)
  }
  const match = escapeGlob(core.keyPrefix) + glob
  let removed = 0
  const pending: string[] = []
  const flush = async (): Promise<void> => {
    const batch = pending.splice(0, DELETE_BATCH)
    if (batch.length > 0) removed += await core.store.del(batch)
  }
  try {
    for await (const keys of core.store.scan({ match, count: DELETE_BATCH })) {
      pending.push(...keys)
      while (pending.length >= DELETE_BATCH) await flush()
    }
    while (pending.length > 0) await flush()
  } catch (error) {
    core.storeFailed('deletePattern', error)
  }
  core.l1?.clear()
  core.announce(undefined)
  core.metrics.deletes += removed
  return removed
}
