// Gathers the single-key writes (SET with a ttl and an NX/XX condition) issued in one tick into one
// script call, so N concurrent requests cost the client one command instead of N. Single-node only.

import type { Store } from './store.js'

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

interface Pending {
  key: string
  value: string
  ttlMs: number
  condition: '' | 'NX' | 'XX'
  resolve(saved: boolean): void
  reject(error: unknown): void
}

/** Writes through one script call per tick (up to `maxBatch` keys); resolves like `store.set`. */
export class WriteBatcher {
  readonly #store: Store
  readonly #maxBatch: number
  #pending: Pending[] = []

  constructor(store: Store, maxBatch = 256) {
    this.#store = store
    this.#maxBatch = maxBatch
    store.defineScript(batchSetScript)
  }

  /** Stores a text value; resolves false when an NX/XX condition was not met. */
  set(key: string, value: string, ttlMs: number, condition?: 'NX' | 'XX'): Promise<boolean> {
    if (this.#pending.length === 0) process.nextTick(this.#flush)
    return new Promise<boolean>((resolve, reject) => {
      // Whole ms, as SET PX wants them; 0 (or less) writes without expiry.
      this.#pending.push({
        key,
        value,
        ttlMs: ttlMs > 0 ? Math.ceil(ttlMs) : 0,
        condition: condition ?? '',
        resolve,
        reject,
      })
      if (this.#pending.length >= this.#maxBatch) this.#flush()
    })
  }

  readonly #flush = (): void => {
    const batch = this.#pending
    if (batch.length === 0) return
    this.#pending = []
    const args: (string | number)[] = []
    for (const write of batch) args.push(write.value, write.ttlMs, write.condition)
    this.#store
      .runScript(
        batchSetScript.name,
        batch.map((write) => write.key),
        args,
      )
      .then(
        (replies) => {
          if (typeof replies !== 'string' || replies.length !== batch.length) {
            const error = new TypeError('the batched SET script replied with something unexpected')
            for (const write of batch) write.reject(error)
            return
          }
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve(replies.charCodeAt(i) === 49)
        },
        (error: unknown) => {
          for (const write of batch) write.reject(error)
        },
      )
  }
}

/** A write batcher where batching pays (single-node Redis, Sentinel), else undefined. */
export function writeBatcherFor(store: Store): WriteBatcher | undefined {
  return store.mode === 'redis' || store.mode === 'sentinel' ? new WriteBatcher(store) : undefined
}
