// Per-namespace key counts and memory of the caches, from a SCAN walk bounded in time and keys and a few
// MEMORY USAGE samples per namespace; reused for a while, since walking the keyspace is never free.

import { type Duration, parseDuration } from '../config/duration.js'
import { checkOptionKeys, describeValue } from '../config/validate.js'
import { errorMessage, InvalidOptionsError } from '../errors.js'
import type { KeyBuilder } from '../keys/key-builder.js'
import type { ScriptDefinition, Store } from '../store/store.js'
import memoryUsageLua from './memory-usage.lua'

/** Options of the keyspace sample (`metricsRoutes({ sample: { ... } })`). */
export interface KeyspaceSampleOptions {
  /**
   * How long a sample is reused before the next request takes a new one.
   * @default '30s'
   * @example { ttl: '5m' }
   */
  ttl?: Duration
  /**
   * How long one walk may take; it stops there and reports what it saw (`complete: false`).
   * @default '200ms'
   * @example { budget: '1s' }
   */
  budget?: Duration
  /**
   * At most this many keys are looked at in one walk.
   * @default 10000
   * @example { maxKeys: 100_000 }
   */
  maxKeys?: number
  /**
   * MEMORY USAGE is asked for at most this many keys of each namespace (picked at random among the keys
   * seen); a namespace's memory is their average size times its key count.
   * @default 20
   * @example { memorySamples: 50 }
   */
  memorySamples?: number
}

/** One namespace of a {@link KeyspaceSample}. */
export interface NamespaceSample {
  /** Keys seen (every version of the namespace); a lower bound when the walk was not complete. */
  keys: number
  /** Keys whose MEMORY USAGE was read. */
  sampledKeys: number
  /** Their average size in bytes (0 when none could be read). */
  avgBytes: number
  /** Estimated memory of the namespace: `avgBytes * keys`. */
  memoryBytes: number
}

/** The result of one walk. */
export interface KeyspaceSample {
  /** ISO time the walk started. */
  sampledAt: string
  durationMs: number
  /** False when the walk stopped at its budget or `maxKeys`: counts are then lower bounds. */
  complete: boolean
  /** Cache keys looked at. */
  scannedKeys: number
  namespaces: Record<string, NamespaceSample>
  /** Why the walk failed or stopped early (e.g. Redis unavailable, MEMORY not allowed). */
  error?: string
}

interface ResolvedSampleOptions {
  ttlMs: number
  budgetMs: number
  maxKeys: number
  memorySamples: number
}

const KNOWN = new Set(['ttl', 'budget', 'maxKeys', 'memorySamples'])
/** How many nested values MEMORY USAGE reads for a hash or set (its own default is 5). */
const NESTED_SAMPLES = 5
/** What the embedded store adds per key to a value's length: about what Redis reports for a small string. */
const MEMORY_KEY_OVERHEAD = 56

const memoryUsageScript: ScriptDefinition = {
  name: 'metrics.memoryUsage',
  lua: memoryUsageLua,
  // An estimate: the embedded store has no allocator to ask, so it counts the bytes it holds.
  memory(context, keys) {
    const key = keys[0]!
    try {
      const value = context.get(key)
      return value === null ? null : Buffer.byteLength(key) + Buffer.byteLength(value) + MEMORY_KEY_OVERHEAD
    } catch {
      try {
        const fields = Object.entries(context.hgetall(key))
        if (fields.length === 0) return null
        const bytes = fields.reduce((sum, [field, value]) => sum + field.length + value.length, 0)
        return Buffer.byteLength(key) + bytes + MEMORY_KEY_OVERHEAD
      } catch {
        return null
      }
    }
  },
}

/**
 * Samples the keys under `<prefix>cache:`. One walk at a time; its result is reused for `ttl`.
 * @throws InvalidOptionsError for bad options
 */
export class KeyspaceSampler {
  readonly #store: Store
  readonly #cacheKeys: KeyBuilder
  readonly #options: ResolvedSampleOptions
  #last: { at: number; sample: KeyspaceSample } | undefined
  #running: Promise<KeyspaceSample> | undefined

  constructor(store: Store, keys: KeyBuilder, options: true | KeyspaceSampleOptions, where: string) {
    this.#store = store
    this.#cacheKeys = keys.scope('cache')
    this.#options = resolveSampleOptions(options === true ? {} : options, where)
    store.defineScript(memoryUsageScript)
  }

  /** The last sample while it is younger than `ttl`, else a new one. Never rejects. */
  sample(): Promise<KeyspaceSample> {
    const last = this.#last
    if (last !== undefined && Date.now() - last.at < this.#options.ttlMs) return Promise.resolve(last.sample)
    this.#running ??= this.#walk().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  async #walk(): Promise<KeyspaceSample> {
    const startedAt = Date.now()
    const started = performance.now()
    const deadline = started + this.#options.budgetMs
    const prefix = this.#cacheKeys.prefix
    const seen = new Map<string, { keys: number; picked: string[] }>()
    let scanned = 0
    let complete = true
    let error: string | undefined
    const batches = this.#store
      .scan({ match: this.#cacheKeys.pattern(), count: Math.min(1000, this.#options.maxKeys) })
      [Symbol.asyncIterator]()
    try {
      for (;;) {
        // A step still pending at the deadline (a hung server) is left behind: the budget is a bound.
        const step = await within(batches.next(), deadline - performance.now())
        if (step === undefined) {
          complete = false
          error = `stopped after ${this.#options.budgetMs} ms (budget)`
          break
        }
        if (step.done) break
        for (const key of step.value) {
          scanned++
          const namespace = namespaceOf(key, prefix)
          let entry = seen.get(namespace)
          if (entry === undefined) {
            entry = { keys: 0, picked: [] }
            seen.set(namespace, entry)
          }
          entry.keys++
          pick(entry.picked, key, entry.keys, this.#options.memorySamples)
        }
        if (scanned >= this.#options.maxKeys || performance.now() >= deadline) {
          complete = false
          void batches.return?.().catch(() => {})
          break
        }
      }
    } catch (failure) {
      complete = false
      error = errorMessage(failure)
    }
    const namespaces: Record<string, NamespaceSample> = {}
    const measured = await Promise.all(
      [...seen].map(async ([namespace, entry]) => {
        const sizes = await Promise.all(entry.picked.map((key) => this.#memoryUsage(key)))
        return { namespace, entry, sizes }
      }),
    )
    for (const { namespace, entry, sizes } of measured) {
      const known = sizes.filter((size): size is number => typeof size === 'number')
      const failed = sizes.find((size): size is Error => size instanceof Error)
      if (failed && error === undefined) error = `MEMORY USAGE failed: ${errorMessage(failed)}`
      const avgBytes = known.length === 0 ? 0 : Math.round(known.reduce((a, b) => a + b, 0) / known.length)
      namespaces[namespace] = {
        keys: entry.keys,
        sampledKeys: known.length,
        avgBytes,
        memoryBytes: avgBytes * entry.keys,
      }
    }
    const sample: KeyspaceSample = {
      sampledAt: new Date(startedAt).toISOString(),
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      complete,
      scannedKeys: scanned,
      namespaces,
      ...(error === undefined ? {} : { error }),
    }
    this.#last = { at: Date.now(), sample }
    return sample
  }

  /** Bytes of one key; undefined when it expired meanwhile, the error when the command failed. */
  async #memoryUsage(key: string): Promise<number | undefined | Error> {
    try {
      const reply = await this.#store.runScript(memoryUsageScript.name, [key], [NESTED_SAMPLES])
      return typeof reply === 'number' ? reply : undefined
    } catch (failure) {
      return failure instanceof Error ? failure : new Error(String(failure))
    }
  }
}

/** What `step` resolves to, or undefined once `ms` have passed (a rejection after that is ignored). */
function within<T>(step: Promise<T>, ms: number): Promise<T | undefined> {
  if (ms <= 0) {
    step.catch(() => {})
    return Promise.resolve(undefined)
  }
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
    timer.unref()
  })
  step.catch(() => {})
  return Promise.race([step, late]).finally(() => clearTimeout(timer))
}

/** The namespace of a cache key: the segment after the cache prefix, without its `@version`. */
function namespaceOf(key: string, prefix: string): string {
  const rest = key.slice(prefix.length)
  const end = rest.indexOf(':')
  const segment = end === -1 ? rest : rest.slice(0, end)
  const at = segment.indexOf('@')
  return at === -1 ? segment : segment.slice(0, at)
}

/** Reservoir sampling: after `seen` keys, each of them is in `picked` with the same chance. */
function pick(picked: string[], key: string, seen: number, size: number): void {
  if (picked.length < size) {
    picked.push(key)
    return
  }
  const slot = Math.floor(Math.random() * seen)
  if (slot < size) picked[slot] = key
}

function resolveSampleOptions(options: KeyspaceSampleOptions, where: string): ResolvedSampleOptions {
  checkOptionKeys(options, KNOWN, where, { path: 'sample', example: "{ ttl: '30s' }" })
  const ttlMs = parseDuration(options.ttl ?? '30s', `${where} sample.ttl`)
  const budgetMs = parseDuration(options.budget ?? '200ms', `${where} sample.budget`)
  if (budgetMs === 0) throw new InvalidOptionsError(`${where}: sample.budget must be longer than 0 ms.`)
  return {
    ttlMs,
    budgetMs,
    maxKeys: count(options.maxKeys, 10_000, where, 'sample.maxKeys'),
    memorySamples: count(options.memorySamples, 20, where, 'sample.memorySamples'),
  }
}

function count(value: unknown, fallback: number, where: string, name: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionsError(
      `${where}: ${name} must be a whole number of at least 1, got ${describeValue(value)}.`,
    )
  }
  return value
}
