// The MemoryScriptContext that in-memory script twins run against: the keyspace seen at one instant.
// Time is frozen for the whole run, as Redis 7 freezes it for a Lua script, so a twin is atomic in time too.

import type { MemoryScriptContext, SetOptions } from '../store.js'
import { normalizeTtl } from '../ttl.js'
import type { Keyspace } from './keyspace.js'

/** Runs each command of a script twin on the keyspace at the time the script started. */
export class KeyspaceScriptContext implements MemoryScriptContext {
  constructor(
    private readonly keyspace: Keyspace,
    private readonly now: number,
  ) {}

  timeMs(): number {
    return this.now
  }

  get(key: string): string | null {
    return this.keyspace.get(key, this.now)
  }

  set(key: string, value: string, options?: SetOptions): boolean {
    const ttlMs = normalizeTtl(options?.ttlMs, 'set')
    return this.keyspace.set(key, value, ttlMs, options?.condition, this.now)
  }

  del(key: string): number {
    return this.keyspace.del(key, this.now) ? 1 : 0
  }

  exists(key: string): boolean {
    return this.keyspace.exists(key, this.now)
  }

  incrBy(key: string, by: number): number {
    return this.keyspace.incrBy(key, by, 0, this.now)
  }

  incrByFloat(key: string, by: number): number {
    return this.keyspace.incrByFloat(key, by, this.now)
  }

  pttl(key: string): number {
    return this.keyspace.pttl(key, this.now)
  }

  pexpire(key: string, ttlMs: number): boolean {
    return this.keyspace.pexpire(key, ttlMs, this.now)
  }

  persist(key: string): boolean {
    return this.keyspace.persist(key, this.now)
  }

  sadd(key: string, members: readonly string[]): number {
    return this.keyspace.sadd(key, members, this.now)
  }

  srem(key: string, members: readonly string[]): number {
    return this.keyspace.srem(key, members, this.now)
  }

  sismember(key: string, member: string): boolean {
    return this.keyspace.sismember(key, member, this.now)
  }

  scard(key: string): number {
    return this.keyspace.scard(key, this.now)
  }

  hget(key: string, field: string): string | null {
    return this.keyspace.hget(key, field, this.now)
  }

  hset(key: string, fields: Readonly<Record<string, string>>): number {
    return this.keyspace.hset(key, fields, this.now)
  }

  hdel(key: string, fields: readonly string[]): number {
    return this.keyspace.hdel(key, fields, this.now)
  }

  hgetall(key: string): Record<string, string> {
    return this.keyspace.hgetall(key, this.now)
  }

  hincrBy(key: string, field: string, by: number): number {
    return this.keyspace.hincrBy(key, field, by, this.now)
  }
}
