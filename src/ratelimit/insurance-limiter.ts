// The limiter that decides while Redis is unreachable: the same script twin on a private embedded
// store, with the limit divided by the expected number of instances so the fleet stays near the limit.

import { MemoryStore } from '../store/memory/memory-store.js'
import type { ScriptDefinition, ScriptReply } from '../store/store.js'
import { scriptArgs } from './algorithms/rate-limit-script.js'

/**
 * An in-process stand-in for the Redis side of one limiter. Its state is its own: counts made here
 * are not carried over to Redis when it comes back, and Redis counts are not seen here.
 */
export class InsuranceLimiter {
  readonly #script: ScriptDefinition
  readonly #settings: readonly (string | number)[]
  #store: MemoryStore | undefined

  /** @param settings the script's settings arguments, with the insurance limit */
  constructor(script: ScriptDefinition, settings: readonly (string | number)[]) {
    this.#script = script
    this.#settings = settings
  }

  /** Runs one batch like the store would, on in-process state (created on first use). */
  run(keys: readonly string[], ops: readonly string[]): Promise<ScriptReply> {
    if (!this.#store) {
      this.#store = new MemoryStore()
      this.#store.defineScript(this.#script)
    }
    return this.#store.runScript(this.#script.name, keys, scriptArgs(this.#settings, ops))
  }

  /** Drops the in-process state. */
  async close(): Promise<void> {
    const store = this.#store
    this.#store = undefined
    await store?.close()
  }
}
