// Reclaims the memory of invalidated entries: walks the tag's index set with SSCAN, deletes the entries
// that still carry the dead version (in slot-grouped script calls), paced so Redis stays responsive.
// Sweeps are recorded in Redis before they start, so a crashed instance's sweeps are found and finished.

import calculateSlot from 'cluster-key-slot'
import { errorMessage } from '../../errors.js'
import type { FeatureContext } from '../../feature-context.js'
import type { KeyBuilder } from '../../keys/key-builder.js'
import { chunk } from '../../store/batches.js'
import { tagSweepDeleteScript } from './tag-scripts.js'

const BATCH = 1000
// Keys per sweep script call: small enough that one call never holds Redis for more than ~1 ms.
const SCRIPT_KEYS = 200
const LOCK_TTL_MS = 60_000

/** Counters of the sweeper, in `kit.metrics().tags.sweeper`. */
export interface TagSweeperMetrics {
  /** Sweeps finished. */
  sweeps: number
  /** Entries deleted. */
  deleted: number
  /** Sweeps waiting or running. */
  pending: number
  /** Sweeps that failed (retried by the next resume). */
  failures: number
}

/** Where the sweeper finds a tag's keys. */
export interface TagKeyLayout {
  keys: KeyBuilder
  versionKey(tag: string): string
  pendingKey(tag: string): string
  indexKey(tag: string, version: string): string
  lockKey(tag: string, version: string): string
  /** The encoded tag of a pending-sweeps key, or undefined for a foreign key. */
  tagOfPendingKey(key: string): string | undefined
  pendingPattern(): string
}

/** Background worker deleting the entries of invalidated tag versions. */
export class TagSweeper {
  readonly #context: FeatureContext
  readonly #layout: TagKeyLayout
  readonly #rate: number
  readonly #queue: { tag: string; version: string }[] = []
  readonly #queued = new Set<string>()
  readonly #metrics: TagSweeperMetrics = { sweeps: 0, deleted: 0, pending: 0, failures: 0 }
  #running: Promise<void> | undefined
  #stopped = false

  constructor(context: FeatureContext, layout: TagKeyLayout, rateKeysPerSecond: number) {
    this.#context = context
    this.#layout = layout
    this.#rate = rateKeysPerSecond
  }

  get metrics(): TagSweeperMetrics {
    return { ...this.#metrics, pending: this.#queue.length + (this.#running ? 1 : 0) }
  }

  /** Queues the sweep of one invalidated version. */
  enqueue(tag: string, version: string): void {
    const id = `${tag}\u0000${version}`
    if (this.#stopped || this.#queued.has(id)) return
    this.#queued.add(id)
    this.#queue.push({ tag, version })
    this.#running ??= this.#drain()
  }

  /** Resolves when every queued sweep has finished. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
  }

  /** Finds sweeps recorded in Redis that no one finished (crashed instance) and queues them. */
  async resume(): Promise<number> {
    let found = 0
    for await (const keys of this.#context.store.scan({
      match: this.#layout.pendingPattern(),
      count: BATCH,
    })) {
      for (const key of keys) {
        const tag = this.#layout.tagOfPendingKey(key)
        if (tag === undefined) continue
        for await (const versions of this.#context.store.sscan(key, { count: BATCH })) {
          for (const version of versions) {
            this.enqueue(tag, version)
            found++
          }
        }
      }
    }
    return found
  }

  stop(): void {
    this.#stopped = true
    this.#queue.length = 0
  }

  async #drain(): Promise<void> {
    try {
      for (let job = this.#queue.shift(); job && !this.#stopped; job = this.#queue.shift()) {
        try {
          await this.#sweep(job.tag, job.version)
          this.#metrics.sweeps++
        } catch (error) {
          this.#metrics.failures++
          this.#context.logger.warn(
            { tag: job.tag, error: errorMessage(error) },
            'redkit: tag sweep failed; it stays recorded and is retried later',
          )
        } finally {
          this.#queued.delete(`${job.tag}\u0000${job.version}`)
        }
      }
    } finally {
      this.#running = undefined
    }
  }

  async #sweep(tag: string, version: string): Promise<void> {
    const { store } = this.#context
    const layout = this.#layout
    const lock = layout.lockKey(tag, version)
    // One instance sweeps a version at a time; the lock expires if that instance dies mid-sweep.
    if (!(await store.set(lock, '1', { ttlMs: LOCK_TTL_MS, condition: 'NX' }))) return
    const needle = `,${tag}=${version},`
    const index = layout.indexKey(tag, version)
    const cluster = store.mode === 'cluster'
    let started = performance.now()
    let sinceStart = 0
    for await (const members of store.sscan(index, { count: BATCH })) {
      const groups = cluster ? groupBySlot(members) : chunk(members, SCRIPT_KEYS)
      const removed = await Promise.all(
        groups.map((keys) => store.runScript(tagSweepDeleteScript.name, keys, [needle])),
      )
      for (const count of removed) this.#metrics.deleted += Number(count)
      sinceStart += members.length
      // Pace to the configured rate, and always yield so Redis and this process serve others meanwhile.
      const dueMs = (sinceStart / this.#rate) * 1000 - (performance.now() - started)
      await new Promise((resolve) => (dueMs > 1 ? setTimeout(resolve, dueMs) : setImmediate(resolve)))
      if (performance.now() - started > LOCK_TTL_MS / 3) {
        await store.pexpire(lock, LOCK_TTL_MS)
        started = performance.now()
        sinceStart = 0
      }
      if (this.#stopped) return
    }
    await store.del([index])
    await store.srem(layout.pendingKey(tag), [version])
    await store.del([lock])
  }
}

function groupBySlot(keys: readonly string[]): string[][] {
  const groups = new Map<number, string[]>()
  for (const key of keys) {
    const slot = calculateSlot(key)
    const group = groups.get(slot)
    if (group) group.push(key)
    else groups.set(slot, [key])
  }
  return [...groups.values()].flatMap((group) => chunk(group, SCRIPT_KEYS))
}
