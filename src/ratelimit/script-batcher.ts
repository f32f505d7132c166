// Gathers the ops of one event-loop turn into one script call per Cluster slot (one call in all on a
// single node), and coalesces ops on the same key into one entry the script applies in order: still exact.

import type { ScriptReply } from '../store/store.js'
import { type OpReply, opReplies } from './algorithms/rate-limit-script.js'

/** Runs one script call: `ops[i]` is the op list of `keys[i]`; resolves the flat reply. */
export type BatchExecutor = (keys: string[], ops: string[]) => Promise<ScriptReply>

interface Waiter {
  resolve(reply: OpReply): void
  reject(error: unknown): void
}

interface PendingKey {
  ops: string
  waiters: Waiter[]
}

/**
 * Queues ops per key and sends them once the current tick's callbacks have run (`process.nextTick`,
 * which runs after the promise continuations of the replies just handled), so the consumes those
 * replies released go out together, in the same turn of the event loop rather than a turn later. A
 * batch above `maxKeys` is split: one call now, the rest on the following turns.
 */
export class ScriptBatcher {
  readonly #execute: BatchExecutor
  readonly #groupOf: ((key: string) => number) | undefined
  readonly #maxKeys: number
  readonly #pending = new Map<number, Map<string, PendingKey>>()
  #scheduled = false
  /** Script calls sent, for metrics. */
  calls = 0

  /**
   * @param groupOf the Cluster slot of a key; `undefined` puts every key in one call
   * @param maxKeys most keys per call, so one call never holds the server for long
   */
  constructor(execute: BatchExecutor, groupOf: ((key: string) => number) | undefined, maxKeys = 256) {
    this.#execute = execute
    this.#groupOf = groupOf
    this.#maxKeys = maxKeys
  }

  /** Queues `op` (e.g. `c1`) on `key`; resolves with its reply. */
  submit(key: string, op: string): Promise<OpReply> {
    const group = this.#groupOf ? this.#groupOf(key) : 0
    let keys = this.#pending.get(group)
    if (!keys) {
      keys = new Map()
      this.#pending.set(group, keys)
    }
    let entry = keys.get(key)
    if (!entry) {
      entry = { ops: '', waiters: [] }
      keys.set(key, entry)
    }
    entry.ops += op
    if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(this.#flushNow)
    }
    return new Promise<OpReply>((resolve, reject) => {
      entry.waiters.push({ resolve, reject })
    })
  }

  readonly #flushNow = (): void => this.#flush()

  #flush(): void {
    this.#scheduled = false
    for (const [group, keys] of this.#pending) {
      const batchKeys: string[] = []
      const batchEntries: PendingKey[] = []
      for (const [key, entry] of keys) {
        batchKeys.push(key)
        batchEntries.push(entry)
        keys.delete(key)
        if (batchKeys.length === this.#maxKeys) break
      }
      if (keys.size === 0) this.#pending.delete(group)
      this.#send(batchKeys, batchEntries)
    }
    // The rest goes out on the next turn, in its own write: while the server runs this call, the next
    // one is on its way, so the server and this process work at the same time instead of in turns.
    if (this.#pending.size > 0 && !this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.#flush())
    }
  }

  #send(keys: string[], entries: PendingKey[]): void {
    this.calls++
    const ops = entries.map((entry) => entry.ops)
    this.#execute(keys, ops).then(
      (reply) => {
        const waiters = entries.flatMap((entry) => entry.waiters)
        let replies: OpReply[]
        try {
          replies = opReplies(reply)
          if (replies.length !== waiters.length) {
            throw new TypeError(
              `the rate-limit script replied for ${replies.length} ops, not ${waiters.length}`,
            )
          }
        } catch (error) {
          for (const waiter of waiters) waiter.reject(error)
          return
        }
        for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(replies[i]!)
      },
      (error: unknown) => {
        for (const entry of entries) for (const waiter of entry.waiters) waiter.reject(error)
      },
    )
  }
}
