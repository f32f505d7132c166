// The embedded store: a real in-process implementation of Store for apps that run without Redis.
// Same observable semantics as RedisStore (types, TTLs, SCAN, scripts via twins, pub/sub) in one process.

import { setImmediate as nextTurn } from 'node:timers/promises'
import { errorMessage, InvalidOptionsError, RedkitClosedError, ScriptError } from '../../errors.js'
import type {
  MessageListener,
  ScanOptions,
  ScriptDefinition,
  ScriptReply,
  SetEntry,
  SetOptions,
  Store,
  StoreValue,
} from '../store.js'
import { normalizeTtl } from '../ttl.js'
import { compileGlob, type GlobMatcher } from './glob.js'
import { InProcessPubSub, type ListenerErrorHandler } from './in-process-pubsub.js'
import { Keyspace } from './keyspace.js'
import { KeyspaceScriptContext } from './keyspace-script-context.js'
import { toScriptReply } from './script-reply.js'

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How often expired keys are swept from memory, in milliseconds. Expired keys are invisible at
   * once either way (they expire lazily when touched); the sweep frees the memory of keys nobody
   * touches again. `0` turns the sweep off.
   * @default 1000
   */
  sweepIntervalMs?: number
  /**
   * At most this many keys with a TTL are examined per sweep, so one sweep never blocks the event
   * loop for long; the next sweep goes on where this one stopped.
   * @default 10000
   */
  sweepMaxKeys?: number
  /**
   * The clock, in milliseconds, behind every TTL and `TIME` in scripts. Inject one to control time in tests.
   * @default Date.now
   * @example new MemoryStore({ now: () => fakeTime })
   */
  now?: () => number
  /**
   * Receives what a pub/sub listener threw. Errors of listeners are swallowed either way, so that
   * one failing listener never stops delivery to the others.
   * @default undefined (errors are dropped)
   */
  onListenerError?: ListenerErrorHandler
}

const DEFAULT_SCAN_COUNT = 1000

function scanSettings(options: ScanOptions): { matches: GlobMatcher; count: number } {
  const count = options.count ?? DEFAULT_SCAN_COUNT
  if (!Number.isInteger(count) || count < 1) {
    throw new InvalidOptionsError(`scan count must be a positive integer, got ${count}.`)
  }
  return { matches: compileGlob(options.match ?? '*'), count }
}

function copyOut(value: string | Buffer | null): Buffer | null {
  if (value === null) return null
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)
}

function decode(value: string | Buffer | null): string | null {
  return value === null || typeof value === 'string' ? value : value.toString('utf8')
}

/**
 * The embedded {@link Store}: keys, TTLs, sets, hashes, SCAN, scripts and pub/sub in the memory of
 * this process, with the semantics of Redis. It is what an app gets when it runs without Redis, so
 * it is built to be correct and fast, not a mock.
 *
 * - Values are binary-safe; strings, sets and hashes are distinct types (`WRONGTYPE` otherwise).
 * - Expired keys vanish at once (lazy expiry) and their memory is reclaimed by a bounded periodic
 *   sweep on an `unref()`ed timer, which never keeps the process alive.
 * - Scripts run their in-memory twin synchronously against a frozen clock, so they are atomic.
 * - Pub/sub is in process: data is not shared with other processes.
 *
 * @example
 * const store = new MemoryStore()
 * await store.set('shop:prod:greeting', 'hello', { ttlMs: 60_000 })
 * await store.get('shop:prod:greeting') // 'hello'
 * await store.close()
 */
export class MemoryStore implements Store {
  /** Always `'memory'`. */
  readonly mode = 'memory' as const

  private readonly keyspace = new Keyspace()
  private readonly pubsub: InProcessPubSub
  private readonly scripts = new Map<string, ScriptDefinition>()
  private readonly clock: () => number
  private readonly sweepMaxKeys: number
  private readonly sweepTimer: NodeJS.Timeout | undefined
  private closed = false

  /** @throws InvalidOptionsError when an option is out of range */
  constructor(options: MemoryStoreOptions = {}) {
    const sweepIntervalMs = options.sweepIntervalMs ?? 1000
    if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 0) {
      throw new InvalidOptionsError(
        `sweepIntervalMs must be a non-negative number of milliseconds (0 turns the sweep off), got ${sweepIntervalMs}.`,
      )
    }
    const sweepMaxKeys = options.sweepMaxKeys ?? 10_000
    if (!Number.isInteger(sweepMaxKeys) || sweepMaxKeys < 1) {
      throw new InvalidOptionsError(`sweepMaxKeys must be a positive integer, got ${sweepMaxKeys}.`)
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new InvalidOptionsError('now must be a function that returns the time in milliseconds.')
    }
    this.clock = options.now ?? Date.now
    this.sweepMaxKeys = sweepMaxKeys
    this.pubsub = new InProcessPubSub(options.onListenerError)
    if (sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(
        () => this.keyspace.sweep(this.sweepMaxKeys, this.clock()),
        sweepIntervalMs,
      )
      this.sweepTimer.unref()
    }
  }

  /** How many keys are held in memory, counting expired keys the sweep has not reclaimed yet. */
  get size(): number {
    return this.keyspace.size
  }

  async get(key: string): Promise<string | null> {
    this.assertOpen()
    return this.keyspace.get(key, this.clock())
  }

  async getBuffer(key: string): Promise<Buffer | null> {
    this.assertOpen()
    return copyOut(this.keyspace.getRaw(key, this.clock()))
  }

  async set(key: string, value: StoreValue, options: SetOptions = {}): Promise<boolean> {
    this.assertOpen()
    const ttlMs = normalizeTtl(options.ttlMs, 'set')
    return this.keyspace.set(key, value, ttlMs, options.condition, this.clock())
  }

  /** Like MGET, a key of another type reads as `null` instead of failing the whole call. */
  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    this.assertOpen()
    const now = this.clock()
    return keys.map((key) => decode(this.keyspace.getRawOrNull(key, now)))
  }

  /** Like MGET, a key of another type reads as `null` instead of failing the whole call. */
  async mgetBuffer(keys: readonly string[]): Promise<(Buffer | null)[]> {
    this.assertOpen()
    const now = this.clock()
    return keys.map((key) => copyOut(this.keyspace.getRawOrNull(key, now)))
  }

  async mset(entries: readonly SetEntry[]): Promise<void> {
    this.assertOpen()
    // Check every TTL first so that a bad entry leaves nothing half-written.
    const ttls = entries.map((entry) => normalizeTtl(entry.ttlMs, 'mset'))
    const now = this.clock()
    entries.forEach((entry, index) => {
      this.keyspace.set(entry.key, entry.value, ttls[index]!, undefined, now)
    })
  }

  async del(keys: readonly string[]): Promise<number> {
    this.assertOpen()
    const now = this.clock()
    let removed = 0
    for (const key of keys) if (this.keyspace.del(key, now)) removed++
    return removed
  }

  /** Counts like EXISTS: a key named twice counts twice. */
  async exists(keys: readonly string[]): Promise<number> {
    this.assertOpen()
    const now = this.clock()
    let found = 0
    for (const key of keys) if (this.keyspace.exists(key, now)) found++
    return found
  }

  async pttl(key: string): Promise<number> {
    this.assertOpen()
    return this.keyspace.pttl(key, this.clock())
  }

  /** Like PEXPIRE, a TTL of 0 or less deletes the key (and resolves `true` when it existed). */
  async pexpire(key: string, ttlMs: number): Promise<boolean> {
    this.assertOpen()
    return this.keyspace.pexpire(key, ttlMs, this.clock())
  }

  async incrBy(key: string, by: number, ttlMs?: number): Promise<number> {
    this.assertOpen()
    return this.keyspace.incrBy(key, by, normalizeTtl(ttlMs, 'incrBy'), this.clock())
  }

  async sadd(key: string, members: readonly string[], ttlMs?: number): Promise<number> {
    this.assertOpen()
    const ttl = normalizeTtl(ttlMs, 'sadd')
    const now = this.clock()
    const added = this.keyspace.sadd(key, members, now)
    if (ttl > 0) this.keyspace.refreshExpiry(key, ttl, now)
    return added
  }

  async srem(key: string, members: readonly string[]): Promise<number> {
    this.assertOpen()
    return this.keyspace.srem(key, members, this.clock())
  }

  async sismember(key: string, member: string): Promise<boolean> {
    this.assertOpen()
    return this.keyspace.sismember(key, member, this.clock())
  }

  async scard(key: string): Promise<number> {
    this.assertOpen()
    return this.keyspace.scard(key, this.clock())
  }

  /**
   * Walks the live member set, `count` members per step, giving the event loop a turn between steps.
   * A set deleted during the walk ends it; a set recreated under the same key is walked from its start.
   */
  async *sscan(key: string, options: ScanOptions = {}): AsyncGenerator<string[], void, undefined> {
    const { matches, count } = scanSettings(options)
    this.assertOpen()
    let members = this.keyspace.members(key, this.clock())
    if (members === undefined) return
    let iterator = members.values()
    while (true) {
      const batch: string[] = []
      let done = false
      for (let examined = 0; examined < count; examined++) {
        const next = iterator.next()
        if (next.done) {
          done = true
          break
        }
        if (matches(next.value)) batch.push(next.value)
      }
      if (batch.length > 0) yield batch
      if (done) return
      await nextTurn()
      this.assertOpen()
      const current = this.keyspace.members(key, this.clock())
      if (current === undefined) return
      if (current !== members) {
        members = current
        iterator = current.values()
      }
    }
  }

  async hset(key: string, fields: Readonly<Record<string, string>>, ttlMs?: number): Promise<number> {
    this.assertOpen()
    const ttl = normalizeTtl(ttlMs, 'hset')
    const now = this.clock()
    const added = this.keyspace.hset(key, fields, now)
    if (ttl > 0) this.keyspace.refreshExpiry(key, ttl, now)
    return added
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    this.assertOpen()
    return this.keyspace.hgetall(key, this.clock())
  }

  async hdel(key: string, fields: readonly string[]): Promise<number> {
    this.assertOpen()
    return this.keyspace.hdel(key, fields, this.clock())
  }

  /**
   * Walks the live keyspace, `count` keys per step, giving the event loop a turn between steps.
   * Keys present for the whole walk come out exactly once; expired keys never do.
   */
  async *scan(options: ScanOptions = {}): AsyncGenerator<string[], void, undefined> {
    const { matches, count } = scanSettings(options)
    this.assertOpen()
    const keys = this.keyspace.keys()
    while (true) {
      const now = this.clock()
      const batch: string[] = []
      let done = false
      for (let examined = 0; examined < count; examined++) {
        const next = keys.next()
        if (next.done) {
          done = true
          break
        }
        if (matches(next.value) && this.keyspace.exists(next.value, now)) batch.push(next.value)
      }
      if (batch.length > 0) yield batch
      if (done) return
      await nextTurn()
      this.assertOpen()
    }
  }

  /**
   * Registers a script; only its `memory` twin runs here. Registering the same name again with
   * the same Lua source replaces the twin; another source under a used name is a mistake.
   * @throws ScriptError when the definition is incomplete or the name is taken by a different script
   */
  defineScript(definition: ScriptDefinition): void {
    this.assertOpen()
    if (typeof definition.name !== 'string' || definition.name === '') {
      throw new ScriptError('A script needs a non-empty name.')
    }
    if (typeof definition.memory !== 'function') {
      throw new ScriptError(
        `Script '${definition.name}' needs a memory twin (a function) to run without Redis.`,
      )
    }
    const existing = this.scripts.get(definition.name)
    if (existing !== undefined && existing.lua !== definition.lua) {
      throw new ScriptError(
        `Another script is already registered as '${definition.name}'; give each script a unique name.`,
      )
    }
    this.scripts.set(definition.name, definition)
  }

  /**
   * Runs the twin of a registered script synchronously (so atomically) with `args` as strings, and
   * converts its reply the way Redis converts a Lua value (see `toScriptReply`).
   * @throws ScriptError for an unknown name, a twin that throws, or a reply Redis could not give
   */
  async runScript(
    name: string,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<ScriptReply> {
    this.assertOpen()
    const definition = this.scripts.get(name)
    if (definition === undefined) {
      throw new ScriptError(`Unknown script '${name}'; register it with defineScript() before running it.`)
    }
    const context = new KeyspaceScriptContext(this.keyspace, this.clock())
    let result: unknown
    try {
      result = definition.memory(context, [...keys], args.map(String))
    } catch (error) {
      throw new ScriptError(`Script '${name}' failed: ${errorMessage(error)}`, { cause: error })
    }
    if (definition.binaryReply) {
      if (Buffer.isBuffer(result)) return result
      throw new ScriptError(`Script '${name}' is defined with binaryReply; its twin must return a Buffer.`)
    }
    return toScriptReply(result, name)
  }

  async publish(channel: string, message: string): Promise<void> {
    this.assertOpen()
    this.pubsub.publish(channel, message)
  }

  async subscribe(channel: string, listener: MessageListener): Promise<() => Promise<void>> {
    this.assertOpen()
    const unsubscribe = this.pubsub.subscribe(channel, listener)
    return async () => unsubscribe()
  }

  /** Never fires: there is no connection to lose in process. */
  onSubscriberReconnect(_listener: () => void): () => void {
    return () => {}
  }

  /** Resolves after one turn of the promise queue: about 0 ms. */
  async ping(): Promise<number> {
    this.assertOpen()
    const start = performance.now()
    await Promise.resolve()
    return performance.now() - start
  }

  /** Stops the sweep, drops all data, scripts and subscriptions. Later calls reject with `RedkitClosedError`. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    this.keyspace.clear()
    this.pubsub.close()
    this.scripts.clear()
  }

  private assertOpen(): void {
    if (this.closed) throw new RedkitClosedError()
  }
}
