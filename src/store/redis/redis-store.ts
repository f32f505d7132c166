// The Store on ioredis, for a single node, Sentinel or Cluster. Every command goes through the
// connection manager (breaker, timeout); multi-key work is split so no command crosses hash slots.

import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { ReplyError } from 'ioredis'
import {
  type ConnectionManager,
  isConnectionFailure,
  type RedisClient,
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

/**
 * ioredis has a Buffer-reply variant of every command, but its types leave out these two.
 * (`callBuffer` would be typed, but breaks under auto-pipelining.)
 */
interface BufferScripts {
  evalshaBuffer(sha: string, numkeys: number, ...args: (string | number)[]): Promise<Buffer>
  evalBuffer(script: string, numkeys: number, ...args: (string | number)[]): Promise<Buffer>
}

/** A {@link Store} backed by Redis through ioredis. Created by `createRedkit` when a Redis target is set. */
export class RedisStore implements Store {
  readonly mode: Exclude<StoreMode, 'memory'>
  readonly #manager: ConnectionManager
  readonly #scripts = new Map<string, LoadedScript>()
  readonly #listeners = new Map<string, Set<MessageListener>>()
  #subscriberWired = false
  #closed = false

  constructor(manager: ConnectionManager, mode: Exclude<StoreMode, 'memory'>) {
    this.#manager = manager
    this.mode = mode
  }

  get #cluster(): boolean {
    return this.mode === 'cluster'
  }

  get(key: string): Promise<string | null> {
    return this.#manager.run('GET', (c) => c.get(key))
  }

  getBuffer(key: string): Promise<Buffer | null> {
    return this.#manager.run('GET', (c) => c.getBuffer(key))
  }

  set(key: string, value: StoreValue, options?: SetOptions): Promise<boolean> {
    let ttlMs: number
    try {
      ttlMs = normalizeTtl(options?.ttlMs, 'set')
    } catch (error) {
      return Promise.reject(error)
    }
    const condition = options?.condition
    return this.#manager.run('SET', (c) => setReply(c, key, value, ttlMs, condition), isOk)
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return Promise.resolve([])
    return this.#manager.run('MGET', (c) =>
      this.#cluster
        ? Promise.all(keys.map((key) => c.get(key).catch(nullOnWrongType)))
        : c.mget(keys as string[]),
    )
  }

  mgetBuffer(keys: readonly string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return Promise.resolve([])
    return this.#manager.run('MGET', (c) =>
      this.#cluster
        ? Promise.all(keys.map((key) => c.getBuffer(key).catch(nullOnWrongType)))
        : c.mgetBuffer(keys as string[]),
    )
  }

  async mset(entries: readonly SetEntry[]): Promise<void> {
    if (entries.length === 0) return
    const ttls = entries.map((e) => normalizeTtl(e.ttlMs, 'mset'))
    return this.#manager.run('MSET', async (c) => {
      if (this.#cluster) {
        // Auto-pipelining groups these per node: one write per node, no cross-slot command.
        await Promise.all(entries.map((e, i) => setOne(c, e.key, e.value, ttls[i])))
        return
      }
      const pipeline = (c as Redis).pipeline()
      entries.forEach((e, i) => {
        const ttl = ttls[i]!
        if (ttl > 0) pipeline.set(e.key, e.value, 'PX', ttl)
        else pipeline.set(e.key, e.value)
      })
      throwFirstError(await pipeline.exec())
    })
  }

  del(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0)
    return this.#manager.run('UNLINK', async (c) => {
      if (this.#cluster) return sum(await Promise.all(keys.map((key) => c.unlink(key))))
      return sum(await Promise.all(chunk(keys, BATCH).map((part) => c.unlink(...part))))
    })
  }

  exists(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0)
    return this.#manager.run('EXISTS', async (c) => {
      if (this.#cluster) return sum(await Promise.all(keys.map((key) => c.exists(key))))
      return sum(await Promise.all(chunk(keys, BATCH).map((part) => c.exists(...part))))
    })
  }

  pttl(key: string): Promise<number> {
    return this.#manager.run('PTTL', (c) => c.pttl(key))
  }

  pexpire(key: string, ttlMs: number): Promise<boolean> {
    return this.#manager.run('PEXPIRE', async (c) => (await c.pexpire(key, ttlMs)) === 1)
  }

  async incrBy(key: string, by: number, ttlMs?: number): Promise<number> {
    const ttl = normalizeTtl(ttlMs, 'incrBy')
    return this.#manager.run('INCRBY', async (c) => {
      if (!ttl) return c.incrby(key, by)
      // PEXPIRE NX sets the expiry only when the counter has none: the first increment opens the window.
      const [value] = await Promise.all([c.incrby(key, by), c.pexpire(key, ttl, 'NX')])
      return value
    })
  }

  async sadd(key: string, members: readonly string[], ttlMs?: number): Promise<number> {
    if (members.length === 0) return 0
    const ttl = normalizeTtl(ttlMs, 'sadd')
    return this.#manager.run('SADD', (c) => withExpiry(c, key, ttl, c.sadd(key, ...members)))
  }

  srem(key: string, members: readonly string[]): Promise<number> {
    if (members.length === 0) return Promise.resolve(0)
    return this.#manager.run('SREM', (c) => c.srem(key, ...members))
  }

  sismember(key: string, member: string): Promise<boolean> {
    return this.#manager.run('SISMEMBER', async (c) => (await c.sismember(key, member)) === 1)
  }

  scard(key: string): Promise<number> {
    return this.#manager.run('SCARD', (c) => c.scard(key))
  }

  async *sscan(key: string, options?: ScanOptions): AsyncIterable<string[]> {
    const args = scanArgs(options)
    let cursor = '0'
    do {
      const [next, members] = await this.#manager.run('SSCAN', (c) =>
        (c as Redis).sscan(key, cursor, ...(args as ['COUNT', number])),
      )
      cursor = next
      if (members.length > 0) yield members
    } while (cursor !== '0')
  }

  async hset(key: string, fields: Readonly<Record<string, string>>, ttlMs?: number): Promise<number> {
    const flat = Object.entries(fields).flat()
    if (flat.length === 0) return 0
    const ttl = normalizeTtl(ttlMs, 'hset')
    return this.#manager.run('HSET', (c) => withExpiry(c, key, ttl, c.hset(key, ...flat)))
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.#manager.run('HGETALL', (c) => c.hgetall(key))
  }

  hdel(key: string, fields: readonly string[]): Promise<number> {
    if (fields.length === 0) return Promise.resolve(0)
    return this.#manager.run('HDEL', (c) => c.hdel(key, ...fields))
  }

  async *scan(options?: ScanOptions): AsyncIterable<string[]> {
    const args = scanArgs(options)
    const client = this.#manager.client('command')
    const nodes: Redis[] = this.#cluster ? await this.#masters(client as Cluster) : [client as Redis]
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, keys] = await this.#manager.run('SCAN', () =>
          node.scan(cursor, ...(args as ['COUNT', number])),
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
    return this.#manager.run(`EVALSHA ${name}`, async (c) => {
      try {
        const binary = script.definition.binaryReply === true
        try {
          return (await (binary
            ? (c as unknown as BufferScripts).evalshaBuffer(script.sha, keys.length, ...keys, ...args)
            : c.evalsha(script.sha, keys.length, ...keys, ...args))) as ScriptReply
        } catch (error) {
          // NOSCRIPT: the server lost its script cache (restart, failover, SCRIPT FLUSH); EVAL reloads it.
          if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
          const lua = script.definition.lua
          return (await (binary
            ? (c as unknown as BufferScripts).evalBuffer(lua, keys.length, ...keys, ...args)
            : c.eval(lua, keys.length, ...keys, ...args))) as ScriptReply
        }
      } catch (error) {
        if (error instanceof ReplyError && !isConnectionFailure(error)) {
          throw new ScriptError(`Script '${name}' failed: ${(error as Error).message}`, { cause: error })
        }
        throw error
      }
    })
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#manager.run('PUBLISH', (c) => c.publish(channel, message))
  }

  async subscribe(channel: string, listener: MessageListener): Promise<() => Promise<void>> {
    if (this.#closed) throw new RedkitClosedError()
    this.#wireSubscriber()
    let listeners = this.#listeners.get(channel)
    if (!listeners) {
      listeners = new Set()
      this.#listeners.set(channel, listeners)
      try {
        await this.#manager.runSubscriber('SUBSCRIBE', (c) => c.subscribe(channel))
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
      await this.#manager.runSubscriber('UNSUBSCRIBE', (c) => c.unsubscribe(channel))
    }
  }

  onSubscriberReconnect(listener: () => void): () => void {
    this.#manager.on('subscriberReconnect', listener)
    return () => this.#manager.off('subscriberReconnect', listener)
  }

  async ping(): Promise<number> {
    const started = performance.now()
    await this.#manager.run('PING', (c) => c.ping())
    return performance.now() - started
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    await this.#manager.close()
  }

  #wireSubscriber(): void {
    if (this.#subscriberWired) return
    this.#subscriberWired = true
    this.#manager.client('subscriber').on('message', (channel: string, message: string) => {
      const listeners = this.#listeners.get(channel)
      if (!listeners) return
      for (const listener of listeners) {
        try {
          listener(message, channel)
        } catch {
          // A failing listener must not starve the others; the bus logs its own listener errors.
        }
      }
    })
  }

  async #masters(cluster: Cluster): Promise<Redis[]> {
    if (cluster.status !== 'ready') await this.#manager.run('PING', (c) => c.ping())
    return cluster.nodes('master')
  }
}

function setReply(
  client: RedisClient,
  key: string,
  value: StoreValue,
  ttlMs?: number,
  condition?: 'NX' | 'XX',
) {
  if (!condition) return ttlMs ? client.set(key, value, 'PX', ttlMs) : client.set(key, value)
  return ttlMs
    ? client.set(key, value, 'PX', ttlMs, condition as 'NX')
    : client.set(key, value, condition as 'NX')
}

function isOk(reply: string | null): boolean {
  return reply === 'OK'
}

function setOne(
  client: RedisClient,
  key: string,
  value: StoreValue,
  ttlMs?: number,
  condition?: 'NX' | 'XX',
): Promise<boolean> {
  return setReply(client, key, value, ttlMs, condition).then(isOk)
}

/** A write and, with a ttl, the PEXPIRE that (re)sets the key's expiry, sent together; resolves the write's reply. */
async function withExpiry(
  client: RedisClient,
  key: string,
  ttlMs: number,
  write: Promise<number>,
): Promise<number> {
  const [reply] = await Promise.all([write, ttlMs ? client.pexpire(key, ttlMs) : 0])
  return reply
}

function nullOnWrongType(error: unknown): null {
  // MGET answers nil for a key of another type; per-key GET on Cluster must answer the same.
  if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return null
  throw error
}

function scanArgs(options?: ScanOptions): (string | number)[] {
  const args: (string | number)[] = []
  if (options?.match !== undefined) args.push('MATCH', options.match)
  args.push('COUNT', options?.count ?? 1000)
  return args
}

function throwFirstError(results: [Error | null, unknown][] | null): void {
  for (const [error] of results ?? []) if (error) throw error
}

function sum(values: number[]): number {
  let total = 0
  for (const value of values) total += value
  return total
}
