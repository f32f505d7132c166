// Gathers the single-key writes (SET with a ttl and an NX/XX condition) issued in one tick into one
// script call, so N concurrent requests cost the client one command instead of N. Single-node only.

import type { Store } from './store.js'
import { TickBatcher } from './tick-batcher.js'

/**
 * The script: KEYS are the keys; ARGV holds value, ttl ms ('0' = none) and condition ('', NX, XX) per key.
 * Replies one string, a '1' (written) or '0' (condition not met) per key: the client reads one string
 * far faster than an array of integers. The ttl goes to SET as the text it came in (no number round trip).
 */
export const batchSetScript = {
  name: 'store.batchSet',
  lua: `local results = {}
for i = 1, #KEYS do
  local base = i * 3
  local ttl, condition = ARGV[base - 1], ARGV[base]
  local reply
  if ttl == '0' then
    if condition == '' then reply = redis.call('SET', KEYS[i], ARGV[base - 2])
    else reply = redis.call('SET', KEYS[i], ARGV[base - 2], condition) end
  elseif condition == '' then reply = redis.call('SET', KEYS[i], ARGV[base - 2], 'PX', ttl)
  else reply = redis.call('SET', KEYS[i], ARGV[base - 2], 'PX', ttl, condition) end
  if reply then results[i] = '1' else results[i] = '0' end
end
return table.concat(results)`,
  memory(
    context: {
      set(key: string, value: string, options?: { ttlMs?: number; condition?: 'NX' | 'XX' }): boolean
    },
    keys: readonly string[],
    args: readonly string[],
  ) {
    return keys
      .map((key, i) => {
        const ttlMs = Number(args[i * 3 + 1])
        const condition = (args[i * 3 + 2] || undefined) as 'NX' | 'XX' | undefined
        return context.set(key, args[i * 3]!, { ttlMs: ttlMs > 0 ? ttlMs : undefined, condition }) ? '1' : '0'
      })
      .join('')
  },
}

interface Write {
  key: string
  value: string
  ttlMs: number
  condition: '' | 'NX' | 'XX'
}

/** Writes through one script call per tick (up to `maxBatch` keys); resolves like `store.set`. */
export class WriteBatcher {
  readonly #batch: TickBatcher<Write, boolean>

  constructor(store: Store, maxBatch = 16) {
    store.defineScript(batchSetScript)
    this.#batch = new TickBatcher(async (writes) => {
      const args: (string | number)[] = []
      for (const write of writes) args.push(write.value, write.ttlMs, write.condition)
      const reply = await store.runScript(
        batchSetScript.name,
        writes.map((write) => write.key),
        args,
      )
      if (typeof reply !== 'string') {
        throw new TypeError('the batched SET script replied with something other than a string')
      }
      return Array.from(reply, (flag) => flag === '1')
    }, maxBatch)
  }

  /** Stores a text value; resolves false when an NX/XX condition was not met. */
  set(key: string, value: string, ttlMs: number, condition?: 'NX' | 'XX'): Promise<boolean> {
    // Whole ms, as SET PX wants them; 0 (or less) writes without expiry.
    return this.#batch.add({
      key,
      value,
      ttlMs: ttlMs > 0 ? Math.ceil(ttlMs) : 0,
      condition: condition ?? '',
    })
  }
}

/** A write batcher where batching pays (single-node Redis, Sentinel), else undefined. */
export function writeBatcherFor(store: Store): WriteBatcher | undefined {
  return store.mode === 'redis' || store.mode === 'sentinel' ? new WriteBatcher(store) : undefined
}
