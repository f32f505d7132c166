// The synchronous data engine of the embedded store: strings, sets and hashes with TTLs, Redis semantics.
// Every command takes the current time, so a script can run against one frozen clock as on Redis 7.

import { StoreCommandError } from '../../errors.js'
import type { StoreValue } from '../store.js'

/** The Redis type of a key, as `TYPE` names it. */
export type KeyType = 'string' | 'set' | 'hash'

interface StringRecord {
  type: 'string'
  /** Text is kept as given (cheaper to read back); bytes are kept as a private copy. */
  value: string | Buffer
  /** Absolute expiry time in ms; 0 when the key does not expire. */
  expiresAt: number
}

interface SetRecord {
  type: 'set'
  value: Set<string>
  expiresAt: number
}

interface HashRecord {
  type: 'hash'
  value: Map<string, string>
  expiresAt: number
}

type KeyRecord = StringRecord | SetRecord | HashRecord
type RecordOf<T extends KeyType> = Extract<KeyRecord, { type: T }>

const INTEGER_TEXT = /^(?:0|-?[1-9][0-9]{0,18})$/
const FLOAT_TEXT = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

function commandError(message: string): StoreCommandError {
  return new StoreCommandError(message)
}

function wrongType(key: string, actual: KeyType, expected: KeyType): StoreCommandError {
  return commandError(
    `WRONGTYPE Operation against a key holding the wrong kind of value: '${key}' holds a ${actual}, ` +
      `the command needs a ${expected}. Use a separate key for each data type.`,
  )
}

function notAnInteger(what = 'value'): StoreCommandError {
  return commandError(`ERR ${what} is not an integer or out of range`)
}

/** Copies bytes (callers may reuse their buffer) and re-encodes text Redis could not store as is. */
function toStoredValue(value: StoreValue): string | Buffer {
  if (typeof value !== 'string') return Buffer.from(value)
  // Redis stores UTF-8: a lone surrogate comes back as U+FFFD there, so it must here too.
  return isWellFormed(value) ? value : Buffer.from(value, 'utf8')
}

/** `String.prototype.isWellFormed` (Node 20) is newer than the ES2023 lib the project compiles against. */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed()
}

/** Text of a number as Redis INCRBYFLOAT stores it: plain decimal notation, no exponent, no -0. */
function formatFloat(value: number): string {
  // Redis computes in long double and prints 17 decimals; 15 significant digits of a double
  // give the same "0.3" for 0.1 + 0.2 instead of exposing binary rounding noise.
  const rounded = Number.parseFloat(value.toPrecision(15))
  let text = Math.abs(rounded) >= 1e21 ? BigInt(rounded).toString() : String(rounded)
  if (text.includes('e')) text = rounded.toFixed(17).replace(/\.?0+$/, '')
  return text === '-0' ? '0' : text
}

/** Adds an integer to the integer text of a counter, with Redis' int64 range checks. */
function addInteger(current: string, by: number, what: string): { text: string; value: number } {
  if (!INTEGER_TEXT.test(current)) throw notAnInteger(what)
  const base = Number(current)
  const sum = base + by
  if (Number.isSafeInteger(base) && Number.isSafeInteger(by) && Number.isSafeInteger(sum)) {
    return { text: String(sum), value: sum }
  }
  const exactBase = BigInt(current)
  if (exactBase < INT64_MIN || exactBase > INT64_MAX) throw notAnInteger(what)
  const exactSum = exactBase + BigInt(by)
  if (exactSum < INT64_MIN || exactSum > INT64_MAX) {
    throw commandError('ERR increment or decrement would overflow')
  }
  return { text: exactSum.toString(), value: Number(exactSum) }
}

function checkIncrement(by: number): void {
  if (typeof by !== 'number' || !Number.isInteger(by)) throw notAnInteger()
  if (BigInt(by) < INT64_MIN || BigInt(by) > INT64_MAX) throw notAnInteger()
}

/**
 * All keys of the embedded store and their expiry. Commands behave like the Redis command of the
 * same name; expired keys are dropped when touched (lazy expiry) and by {@link Keyspace.sweep}.
 */
export class Keyspace {
  private readonly records = new Map<string, KeyRecord>()
  /** Keys that have an expiry, so the sweep never walks keys that cannot expire. */
  private readonly expiring = new Set<string>()
  /** Where the previous sweep stopped; Set iterators stay valid while the set changes. */
  private sweepCursor: Iterator<string> | undefined

  /** Keys held in memory, including expired keys not yet dropped. */
  get size(): number {
    return this.records.size
  }

  /** Keys held in memory that have an expiry. */
  get expiringSize(): number {
    return this.expiring.size
  }

  /** The live record of a key; drops it when its time is up (Redis: expired when now > expiry). */
  private lookup(key: string, now: number): KeyRecord | undefined {
    const record = this.records.get(key)
    if (record === undefined) return undefined
    if (record.expiresAt !== 0 && now > record.expiresAt) {
      this.remove(key)
      return undefined
    }
    return record
  }

  private lookupTyped<T extends KeyType>(key: string, type: T, now: number): RecordOf<T> | undefined {
    const record = this.lookup(key, now)
    if (record === undefined) return undefined
    if (record.type !== type) throw wrongType(key, record.type, type)
    return record as RecordOf<T>
  }

  private remove(key: string): void {
    this.records.delete(key)
    this.expiring.delete(key)
  }

  private expireAt(key: string, record: KeyRecord, expiresAt: number): void {
    record.expiresAt = expiresAt
    this.expiring.add(key)
  }

  private clearExpiry(key: string, record: KeyRecord): void {
    if (record.expiresAt === 0) return
    record.expiresAt = 0
    this.expiring.delete(key)
  }

  /** `TYPE`, or `undefined` when the key is missing. */
  type(key: string, now: number): KeyType | undefined {
    return this.lookup(key, now)?.type
  }

  /** The stored string value (text or bytes, not copied), `null` when missing; WRONGTYPE otherwise. */
  getRaw(key: string, now: number): string | Buffer | null {
    return this.lookupTyped(key, 'string', now)?.value ?? null
  }

  /** Like `getRaw`, but `null` for keys of another type (what MGET does). */
  getRawOrNull(key: string, now: number): string | Buffer | null {
    const record = this.lookup(key, now)
    return record?.type === 'string' ? record.value : null
  }

  /** `GET` decoded as UTF-8. */
  get(key: string, now: number): string | null {
    const value = this.getRaw(key, now)
    return value === null || typeof value === 'string' ? value : value.toString('utf8')
  }

  /**
   * `SET key value [PX ttl] [NX|XX]`. Replaces a key of any type and, like Redis, drops an existing
   * expiry unless a new one is given. `ttlMs` must already be normalized (0 = no expiry).
   */
  set(
    key: string,
    value: StoreValue,
    ttlMs: number,
    condition: 'NX' | 'XX' | undefined,
    now: number,
  ): boolean {
    const existing = this.lookup(key, now)
    if (condition === 'NX' && existing !== undefined) return false
    if (condition === 'XX' && existing === undefined) return false
    const stored = toStoredValue(value)
    if (existing?.type === 'string') {
      existing.value = stored
      if (ttlMs > 0) this.expireAt(key, existing, now + ttlMs)
      else this.clearExpiry(key, existing)
      return true
    }
    const record: StringRecord = { type: 'string', value: stored, expiresAt: 0 }
    if (existing !== undefined) this.clearExpiry(key, existing)
    this.records.set(key, record)
    if (ttlMs > 0) this.expireAt(key, record, now + ttlMs)
    return true
  }

  /** `UNLINK` of one key; whether it existed. */
  del(key: string, now: number): boolean {
    if (this.lookup(key, now) === undefined) return false
    this.remove(key)
    return true
  }

  exists(key: string, now: number): boolean {
    return this.lookup(key, now) !== undefined
  }

  /** `PTTL`: -2 when missing, -1 without expiry. */
  pttl(key: string, now: number): number {
    const record = this.lookup(key, now)
    if (record === undefined) return -2
    if (record.expiresAt === 0) return -1
    return record.expiresAt - now
  }

  /** `PEXPIRE`: a TTL of 0 or less deletes the key at once, as Redis does. */
  pexpire(key: string, ttlMs: number, now: number): boolean {
    if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs)) {
      throw commandError(`ERR invalid expire time in 'pexpire': got ${String(ttlMs)}`)
    }
    const record = this.lookup(key, now)
    if (record === undefined) return false
    if (ttlMs <= 0) this.remove(key)
    else this.expireAt(key, record, now + Math.ceil(ttlMs))
    return true
  }

  /** `PERSIST`: whether an expiry was removed. */
  persist(key: string, now: number): boolean {
    const record = this.lookup(key, now)
    if (record === undefined || record.expiresAt === 0) return false
    this.clearExpiry(key, record)
    return true
  }

  /** `INCRBY`; keeps the key's expiry. With `ttlMs` > 0, sets one only when the key has none. */
  incrBy(key: string, by: number, ttlMs: number, now: number): number {
    checkIncrement(by)
    const record = this.lookupTyped(key, 'string', now)
    if (record === undefined) {
      const created: StringRecord = { type: 'string', value: String(by), expiresAt: 0 }
      this.records.set(key, created)
      if (ttlMs > 0) this.expireAt(key, created, now + ttlMs)
      return by
    }
    const current = typeof record.value === 'string' ? record.value : record.value.toString('latin1')
    const { text, value } = addInteger(current, by, 'value')
    record.value = text
    if (ttlMs > 0 && record.expiresAt === 0) this.expireAt(key, record, now + ttlMs)
    return value
  }

  /** `INCRBYFLOAT`; keeps the key's expiry. */
  incrByFloat(key: string, by: number, now: number): number {
    if (typeof by !== 'number' || !Number.isFinite(by)) throw commandError('ERR value is not a valid float')
    const record = this.lookupTyped(key, 'string', now)
    let base = 0
    if (record !== undefined) {
      const current = typeof record.value === 'string' ? record.value : record.value.toString('latin1')
      if (!FLOAT_TEXT.test(current)) throw commandError('ERR value is not a valid float')
      base = Number(current)
    }
    const sum = base + by
    if (!Number.isFinite(sum)) throw commandError('ERR increment would produce NaN or Infinity')
    const text = formatFloat(sum)
    if (record === undefined) this.records.set(key, { type: 'string', value: text, expiresAt: 0 })
    else record.value = text
    return Number(text)
  }

  /** `SADD`; how many members were new. */
  sadd(key: string, members: readonly string[], now: number): number {
    let record = this.lookupTyped(key, 'set', now)
    if (members.length === 0) return 0
    if (record === undefined) {
      record = { type: 'set', value: new Set(), expiresAt: 0 }
      this.records.set(key, record)
    }
    const set = record.value
    const before = set.size
    for (const member of members) set.add(String(member))
    return set.size - before
  }

  /** `SREM`; an emptied set is deleted, as in Redis. */
  srem(key: string, members: readonly string[], now: number): number {
    const record = this.lookupTyped(key, 'set', now)
    if (record === undefined) return 0
    let removed = 0
    for (const member of members) if (record.value.delete(String(member))) removed++
    if (record.value.size === 0) this.remove(key)
    return removed
  }

  sismember(key: string, member: string, now: number): boolean {
    return this.lookupTyped(key, 'set', now)?.value.has(String(member)) ?? false
  }

  scard(key: string, now: number): number {
    return this.lookupTyped(key, 'set', now)?.value.size ?? 0
  }

  /** The live member set (not a copy) for SSCAN walks, `undefined` when missing. */
  members(key: string, now: number): ReadonlySet<string> | undefined {
    return this.lookupTyped(key, 'set', now)?.value
  }

  /** Sets a key's expiry when it exists (the TTL option of SADD/HSET); `ttlMs` normalized, > 0. */
  refreshExpiry(key: string, ttlMs: number, now: number): void {
    const record = this.lookup(key, now)
    if (record !== undefined) this.expireAt(key, record, now + ttlMs)
  }

  hget(key: string, field: string, now: number): string | null {
    return this.lookupTyped(key, 'hash', now)?.value.get(String(field)) ?? null
  }

  /** `HSET`; how many fields were new. */
  hset(key: string, fields: Readonly<Record<string, string>>, now: number): number {
    let record = this.lookupTyped(key, 'hash', now)
    const entries = Object.entries(fields)
    if (entries.length === 0) return 0
    if (record === undefined) {
      record = { type: 'hash', value: new Map(), expiresAt: 0 }
      this.records.set(key, record)
    }
    const hash = record.value
    const before = hash.size
    for (const [field, value] of entries) hash.set(field, String(value))
    return hash.size - before
  }

  /** `HDEL`; an emptied hash is deleted, as in Redis. */
  hdel(key: string, fields: readonly string[], now: number): number {
    const record = this.lookupTyped(key, 'hash', now)
    if (record === undefined) return 0
    let removed = 0
    for (const field of fields) if (record.value.delete(String(field))) removed++
    if (record.value.size === 0) this.remove(key)
    return removed
  }

  /** `HGETALL`; own properties only, so a field named `__proto__` is data, not a prototype. */
  hgetall(key: string, now: number): Record<string, string> {
    const record = this.lookupTyped(key, 'hash', now)
    return record === undefined ? {} : Object.fromEntries(record.value)
  }

  /** `HINCRBY`. */
  hincrBy(key: string, field: string, by: number, now: number): number {
    checkIncrement(by)
    let record = this.lookupTyped(key, 'hash', now)
    if (record === undefined) {
      record = { type: 'hash', value: new Map(), expiresAt: 0 }
      this.records.set(key, record)
    }
    const name = String(field)
    const { text, value } = addInteger(record.value.get(name) ?? '0', by, 'hash value')
    record.value.set(name, text)
    return value
  }

  /**
   * A live iterator over all keys (expired ones included: check {@link Keyspace.exists}). Map
   * iteration visits every key that stays in the map once, even while others come and go, which
   * is the SCAN guarantee.
   */
  keys(): IterableIterator<string> {
    return this.records.keys()
  }

  /**
   * Drops expired keys, examining at most `maxKeys` keys that have an expiry, resuming where the
   * previous call stopped so every key is visited over successive calls. Returns how many it dropped.
   */
  sweep(maxKeys: number, now: number): number {
    let removed = 0
    const cursor = this.sweepCursor ?? this.expiring.values()
    for (let examined = 0; examined < maxKeys; examined++) {
      const next = cursor.next()
      if (next.done) {
        this.sweepCursor = undefined
        return removed
      }
      const key = next.value
      const record = this.records.get(key)
      if (record === undefined || record.expiresAt === 0) {
        this.expiring.delete(key)
      } else if (now > record.expiresAt) {
        this.remove(key)
        removed++
      }
    }
    this.sweepCursor = cursor
    return removed
  }

  /** Drops every key. */
  clear(): void {
    this.records.clear()
    this.expiring.clear()
    this.sweepCursor = undefined
  }
}
