// Suites' teardown: deletes every key matching a pattern with SCAN + UNLINK, so a benchmark leaves a
// shared Redis as it found it.

import type { Redis } from 'ioredis'

/** Deletes the keys matching `pattern` (SCAN MATCH, COUNT 1000, UNLINK per batch). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) await redis.unlink(...keys)
  } while (cursor !== '0')
}
