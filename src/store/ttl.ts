// One rule for every time to live a store receives, so Redis and the embedded store agree on edge cases.
// 0 or undefined means "no expiry"; fractions round up so a tiny positive TTL still expires.

import { StoreCommandError } from '../errors.js'

/** Checks a time to live and turns it into whole milliseconds, 0 meaning "no expiry". */
export function normalizeTtl(ttlMs: number | undefined, command: string): number {
  if (ttlMs === undefined || ttlMs === 0) return 0
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new StoreCommandError(
      `ERR invalid expire time in '${command}': ttlMs must be a non-negative number of milliseconds, got ${String(ttlMs)}`,
    )
  }
  return Math.ceil(ttlMs)
}
