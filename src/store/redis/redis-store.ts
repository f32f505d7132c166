// The Store on node-redis, for a single node, Sentinel or Cluster. Every command goes through the
// connection manager (breaker, timeout); multi-key work is split so no command crosses hash slots.

import { createHash } from 'node:crypto'
import type { RedisArgument } from '@redis/client'
import { isReplyError } from '../../connection/client-errors.js'
import {
  type CommandClient,
  type ConnectionManager,
  isConnectionFailure,
} from '../../connection/connection-manager.js'
import { RedkitClosedError, ScriptError } from '../../errors.js'
import { chunk } from '../batches.js'
import type {
  MessageListener,
  ScanOptions,
  ScriptDefinition,
  ScriptReply,
  SetEntry,
  SetOptions,
  Store,
  StoreMode,
  StoreValue,
} from '../store.js'
import { normalizeTtl } from '../ttl.js'

/** Keys per UNLINK/EXISTS command on a single node. */
const BATCH = 1000

interface LoadedScript {
  definition: ScriptDefinition
  sha: string
}

interface Subscribable {
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>
  unsubscribe(channel: string): Promise<unknown>
}

/** A {@link Store} backed by Redis through node-redis. Created by `createRedkit` when a Redis target is set. */
export class RedisStore implements Store {
  readonly mode: Exclude<StoreMode, 'memory'>
  readonly #manager: ConnectionManager
  readonly #scripts = new Map<string, LoadedScript>()
  readonly #listeners = new Map<string, Set<MessageListener>>()
  readonly #cluster: boolean
  #closed = false

  constructor(manager: ConnectionManager, mode: Exclude<StoreMode, 'memory'>) {
    this.#manager = manager
    this.mode = mode
    this.#cluster = mode === 'cluster'
  }

  get(key: string): Promise<string | null> {
    return this.#manager.run('GET', (c) => c.send(['GET', key], key) as Promise<string | null>)
  }

  getBuffer(key: string): Promise<Buffer | null> {
    return this.#manager.run('GET', (c) => c.sendBuffers(['GET', key], key) as Promise<Buffer | null>)
  }

  set(key: string, value: StoreValue, options?: SetOptions): Promise<boolean> {
    let ttlMs: number
    try {
      ttlMs = normalizeTtl(options?.ttlMs, 'set')
    } catch (error) {
      return Promise.reject(error)
    }
    const condition = options?.condition
    return this.#manager.run('SET', (c) => setOne(c, key, value, ttlMs, condition))
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return Promise.resolve([])
    return this.#manager.run('MGET', (c) =>
      this.#cluster
        ? Promise.all(
            keys.map((key) => (c.send(['GET', key], key) as Promise<string | null>).catch(nullOnWrongType)),
          )
        : (c.send(['MGET', ...keys]) as Promise<(string | null)[]>),
    )
  }

  mgetBuffer(keys: readonly string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return Promise.resolve([])
    return this.#manager.run('MGET', (c) =>
      this.#cluster
        ? Promise.all(
            keys.map((key) =>
              (c.sendBuffers(['GET', key], key) as Promise<Buffer | null>).catch(nullOnWrongType),
            ),
          )
        : (c.sendBuffers(['MGET', ...keys]) as Promise<(Buffer | null)[]>),
    )
  }

  async mset(entries: readonly SetEntry[]): Promise<void> {
    if (entries.length === 0) return
    const ttls = entries.map((e) => normalizeTtl(e.ttlMs, 'mset'))
    // Commands queued in one tick leave in one write (per node on Cluster): no cross-slot command.
    await this.#manager.run('MSET', (c) =>
      Promise.all(entries.map((e, i) => setOne(c, e.key, e.value, ttls[i]))),
    )
  }

  del(keys: readonly string[]): Promise<number> {
    return this.#countOver('UNLINK', keys)
  }

  exists(keys: readonly string[]): Promise<number> {
    return this.#countOver('EXISTS', keys)
  }

  /** A multi-key command that replies a count (UNLINK, EXISTS): per key on Cluster, in batches elsewhere. */
  #countOver(command: 'UNLINK' | 'EXISTS', keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0)
    return this.#manager.run(command, async (c) => {
      const calls = this.#cluster
        ? keys.map((key) => c.send([command, key], key))
        : chunk(keys, BATCH).map((part) => c.send([command, ...part]))
      return sum((await Promise.all(calls)) as number[])
    })
  }

  pttl(key: string): Promise<number> {
    return this.#manager.run('PTTL', (c) => c.send(['PTTL', key], key) as Promise<number>)
  }

  pexpire(key: string, ttlMs: number): Promise<boolean> {
    return this.#manager.run(
      'PEXPIRE',
      async (c) => (await c.send(['PEXPIRE', key, String(ttlMs)], key)) === 1,
    )
  }

  async incrBy(key: string, by: number, ttlMs?: number): Promise<number> {
    const ttl = normalizeTtl(ttlMs, 'incrBy')
    return this.#manager.run('INCRBY', async (c) => {
      const increment = c.send(['INCRBY', key, String(by)], key) as Promise<number>
      if (!ttl) return increment
      // PEXPIRE NX sets the expiry only when the counter has none: the first increment opens the window.
      const [value] = await Promise.all([increment, c.send(['PEXPIRE', key, String(ttl), 'NX'], key)])
      return value
    })
  }

  async sadd(key: string, members: readonly string[], ttlMs?: number): Promise<number> {
    if (members.length === 0) return 0
    const ttl = normalizeTtl(ttlMs, 'sadd')
    return this.#manager.run('SADD', (c) => withExpiry(c, key, ttl, c.send(['SADD', key, ...members], key)))
  }

  srem(key: string, members: readonly string[]): Promise<number> {
    if (members.length === 0) return Promise.resolve(0)
    return this.#manager.run('SREM', (c) => c.send(['SREM', key, ...members], key) as Promise<number>)
  }

  sismember(key: string, member: string): Promise<boolean> {
    return this.#manager.run('SISMEMBER', async (c) => (await c.send(['SISMEMBER', key, member], key)) === 1)
  }

  scard(key: string): Promise<number> {
    return this.#manager.run('SCARD', (c) => c.send(['SCARD', key], key) as Promise<number>)
  }

  async *sscan(key: string, options?: ScanOptions): AsyncIterable<string[]> {
    const args = scanArgs(options)
    let cursor = '0'
    do {
      const [next, members] = await this.#manager.run(
        'SSCAN',
        (c) => c.send(['SSCAN', key, cursor, ...args], key) as Promise<[string, string[]]>,
      )
      cursor = next
      if (members.length > 0) yield members
    } while (cursor !== '0')
  }

  async hset(key: string, fields: Readonly<Record<string, string>>, ttlMs?: number): Promise<number> {
    const flat = Object.entries(fields).flat()
    if (flat.length === 0) return 0
    const ttl = normalizeTtl(ttlMs, 'hset')
    return this.#manager.run('HSET', (c) => withExpiry(c, key, ttl, c.send(['HSET', key, ...flat], key)))
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.#manager.run(
      'HGETALL',
      (c) => c.send(['HGETALL', key], key) as Promise<string[]>,
      pairsToObject,
    )
  }

  hdel(key: string, fields: readonly string[]): Promise<number> {
    if (fields.length === 0) return Promise.resolve(0)
    return this.#manager.run('HDEL', (c) => c.send(['HDEL', key, ...fields], key) as Promise<number>)
  }

  async *scan(options?: ScanOptions): AsyncIterable<string[]> {
    const args = scanArgs(options)
    // One node is its own master. Resolving it through `run` would settle a "command" without a server
    // reply, which the single-node watchdog takes for progress: a hang then outlived commandTimeout.
    const nodes: (CommandClient | undefined)[] = this.#cluster
      ? await this.#manager.run('SCAN', (c) => c.masters())
      : [undefined]
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, keys] = await this.#manager.run(
          'SCAN',
          (c) => (node ?? c).send(['SCAN', cursor, ...args]) as Promise<[string, string[]]>,
        )
        cursor = next
        if (keys.length > 0) yield keys
      } while (cursor !== '0')
    }
  }

  defineScript(definition: ScriptDefinition): void {
    const known = this.#scripts.get(definition.name)
    if (known && known.definition.lua !== definition.lua) {
      throw new ScriptError(`A different script is already defined as '${definition.name}'.`)
    }
    const sha = createHash('sha1').update(definition.lua).digest('hex')
    this.#scripts.set(definition.name, { definition, sha })
  }

  runScript(name: string, keys: readonly string[], args: readonly (string | number)[]): Promise<ScriptReply> {
    const script = this.#scripts.get(name)
    if (!script) return Promise.reject(new ScriptError(`No script named '${name}' is defined on this store.`))
    const tail: RedisArgument[] = [String(keys.length), ...keys]
    for (const arg of args) tail.push(typeof arg === 'string' ? arg : String(arg))
    const route = keys[0]
    const binary = script.definition.binaryReply === true
    return this.#manager.run(`EVALSHA ${name}`, async (c) => {
      const send = (command: RedisArgument[]) =>
        binary ? c.sendBuffers(command, route) : c.send(command, route)
      try {
        try {
          return (await send(['EVALSHA', script.sha, ...tail])) as ScriptReply
        } catch (error) {
          // NOSCRIPT: the server lost its script cache (restart, failover, SCRIPT FLUSH); EVAL reloads it.
          if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
          return (await send(['EVAL', script.definition.lua, ...tail])) as ScriptReply
        }
      } catch (error) {
        if (isReplyError(error) && !isConnectionFailure(error) && !error.message.startsWith('OOM')) {
          throw new ScriptError(`Script '${name}' failed: ${error.message}`, { cause: error })
        }
        throw error
      }
    })
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#manager.run('PUBLISH', (c) => c.send(['PUBLISH', channel, message]))
  }

  async subscribe(channel: string, listener: MessageListener): Promise<() => Promise<void>> {
    if (this.#closed) throw new RedkitClosedError()
    let listeners = this.#listeners.get(channel)
    if (!listeners) {
      listeners = new Set()
      this.#listeners.set(channel, listeners)
      try {
        await this.#manager.runSubscriber('SUBSCRIBE', (c) =>
          (c as unknown as Subscribable).subscribe(channel, (message) => this.#dispatch(channel, message)),
        )
      } catch (error) {
        this.#listeners.delete(channel)
        throw error
      }
    }
    // Each call is its own subscription, even for the same function: wrap it so deletes are exact.
    const subscription: MessageListener = (message, from) => listener(message, from)
    listeners.add(subscription)
    return async () => {
      const current = this.#listeners.get(channel)
      if (!current?.delete(subscription) || current.size > 0) return
      this.#listeners.delete(channel)
      if (this.#closed) return
      await this.#manager.runSubscriber(
        'UNSUBSCRIBE',
        (c) => (c as unknown as Subscribable).unsubscribe(channel),
        {
          detachWhenDown: true,
        },
      )
    }
  }

  onSubscriberReconnect(listener: () => void): () => void {
    this.#manager.on('subscriberReconnect', listener)
    return () => this.#manager.off('subscriberReconnect', listener)
  }

  async ping(): Promise<number> {
    const started = performance.now()
    await this.#manager.run('PING', (c) => c.send(['PING']))
    return performance.now() - started
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    await this.#manager.close()
  }

  #dispatch(channel: string, message: string): void {
    const listeners = this.#listeners.get(channel)
    if (!listeners) return
    for (const listener of listeners) {
      try {
        listener(message, channel)
      } catch {
        // A failing listener must not starve the others; the bus logs its own listener errors.
      }
    }
  }
}

function setOne(
  client: CommandClient,
  key: string,
  value: StoreValue,
  ttlMs?: number,
  condition?: 'NX' | 'XX',
): Promise<boolean> {
  const args: RedisArgument[] = ['SET', key, value]
  if (ttlMs) args.push('PX', String(ttlMs))
  if (condition) args.push(condition)
  return client.send(args, key).then(isOk)
}

function isOk(reply: unknown): boolean {
  return reply === 'OK'
}

/** A write and, with a ttl, the PEXPIRE that (re)sets the key's expiry, sent together; resolves the write's reply. */
async function withExpiry(
  client: CommandClient,
  key: string,
  ttlMs: number,
  write: Promise<unknown>,
): Promise<number> {
  const [reply] = await Promise.all([write, ttlMs ? client.send(['PEXPIRE', key, String(ttlMs)], key) : 0])
  return reply as number
}

function pairsToObject(flat: string[]): Record<string, string> {
  const object: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) object[flat[i]!] = flat[i + 1]!
  return object
}

function nullOnWrongType(error: unknown): null {
  // MGET answers nil for a key of another type; per-key GET on Cluster must answer the same.
  if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return null
  throw error
}

function scanArgs(options?: ScanOptions): string[] {
  const args: string[] = []
  if (options?.match !== undefined) args.push('MATCH', options.match)
  args.push('COUNT', String(options?.count ?? 1000))
  return args
}

function sum(values: number[]): number {
  let total = 0
  for (const value of values) total += value
  return total
}
