// The one interface every feature talks to. RedisStore (ioredis: single, cluster, sentinel) and
// MemoryStore (embedded) implement it with the same observable semantics; features never see ioredis.

/** Which backend a store runs on. */
export type StoreMode = 'memory' | 'redis' | 'cluster' | 'sentinel'

/** A value as stored: text or raw bytes. Stores are binary-safe. */
export type StoreValue = string | Buffer

/** Options of {@link Store.set}. */
export interface SetOptions {
  /** Time to live in milliseconds; `undefined` or `0` stores without expiry. */
  ttlMs?: number
  /** `NX`: only when the key is missing; `XX`: only when it exists. */
  condition?: 'NX' | 'XX'
}

/** One entry of {@link Store.mset}. */
export interface SetEntry {
  key: string
  value: StoreValue
  /** Time to live in milliseconds; `undefined` or `0` stores without expiry. */
  ttlMs?: number
}

/** Options of {@link Store.scan} and {@link Store.sscan}. */
export interface ScanOptions {
  /** Glob pattern (Redis MATCH syntax: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\` escapes). */
  match?: string
  /**
   * Hint for how many elements one step looks at (Redis COUNT).
   * @default 1000
   */
  count?: number
}

/**
 * What a script returns, in the shape Redis gives a Lua reply: integers, strings, nil, arrays; a Buffer
 * for a script defined with `binaryReply`.
 */
export type ScriptReply = null | number | string | Buffer | ScriptReply[]

/**
 * Synchronous view of the embedded store that the in-memory twin of a Lua script runs against.
 * Each call behaves like the Redis command of the same name. A twin runs to completion without
 * awaiting, so it is atomic exactly like a script on Redis.
 */
export interface MemoryScriptContext {
  /** Current time in milliseconds (what `redis.call('TIME')` gives, as ms). */
  timeMs(): number
  get(key: string): string | null
  set(key: string, value: string, options?: SetOptions): boolean
  del(key: string): number
  exists(key: string): boolean
  incrBy(key: string, by: number): number
  incrByFloat(key: string, by: number): number
  /** -2 when the key is missing, -1 when it has no expiry. */
  pttl(key: string): number
  pexpire(key: string, ttlMs: number): boolean
  persist(key: string): boolean
  sadd(key: string, members: readonly string[]): number
  srem(key: string, members: readonly string[]): number
  sismember(key: string, member: string): boolean
  scard(key: string): number
  hget(key: string, field: string): string | null
  hset(key: string, fields: Readonly<Record<string, string>>): number
  hdel(key: string, fields: readonly string[]): number
  hgetall(key: string): Record<string, string>
  hincrBy(key: string, field: string, by: number): number
}

/**
 * A Lua script and its in-memory twin. Both must give identical replies for identical input;
 * the store contract suite checks this for every script a feature registers.
 */
export interface ScriptDefinition {
  /** Unique name, e.g. `ratelimit.fixedWindow`. */
  name: string
  /** Lua source. Keys come in `KEYS`, arguments (as strings) in `ARGV`. */
  lua: string
  /** The same logic for the embedded store. */
  memory: (context: MemoryScriptContext, keys: readonly string[], args: readonly string[]) => ScriptReply
  /**
   * The script returns one binary string (e.g. numbers packed with `struct.pack`) and the caller gets
   * it as a Buffer, bytes untouched; the twin must return a Buffer too. Decoding one packed string is far
   * cheaper for the client than an array of many integer replies.
   * @default false
   */
  binaryReply?: boolean
}

/** Called with each message published on a channel. */
export type MessageListener = (message: string, channel: string) => void

/**
 * The store interface. All keys are full keys: features build them with the key builder, which adds
 * the app prefix. Multi-key methods are safe on Redis Cluster across slots (they never send a
 * cross-slot multi-key command). Methods reject with `RedisUnavailableError` when Redis cannot be reached.
 */
export interface Store {
  /** The backend this store runs on. */
  readonly mode: StoreMode

  /** The value as UTF-8 text, or `null` when missing or expired. */
  get(key: string): Promise<string | null>
  /** The value as bytes, or `null` when missing or expired. */
  getBuffer(key: string): Promise<Buffer | null>
  /** Stores a value. Resolves `false` only when an NX/XX condition was not met. */
  set(key: string, value: StoreValue, options?: SetOptions): Promise<boolean>
  /** Many values as text, in the order of `keys` (pipelined; cluster-safe). */
  mget(keys: readonly string[]): Promise<(string | null)[]>
  /** Many values as bytes, in the order of `keys` (pipelined; cluster-safe). */
  mgetBuffer(keys: readonly string[]): Promise<(Buffer | null)[]>
  /** Stores many values, each with its own TTL (pipelined; cluster-safe). */
  mset(entries: readonly SetEntry[]): Promise<void>
  /** Removes keys with UNLINK (non-blocking); resolves how many existed. */
  del(keys: readonly string[]): Promise<number>
  /** How many of the keys exist. */
  exists(keys: readonly string[]): Promise<number>
  /** Remaining time to live in ms; -2 when the key is missing, -1 when it has no expiry. */
  pttl(key: string): Promise<number>
  /** Sets a key's time to live; `false` when the key is missing. */
  pexpire(key: string, ttlMs: number): Promise<boolean>
  /**
   * Adds `by` to an integer counter (created at 0) and returns the new value.
   * With `ttlMs`, the expiry is set only when the counter has none yet (the first increment of a window).
   */
  incrBy(key: string, by: number, ttlMs?: number): Promise<number>

  /** Adds members to a set; resolves how many were new. With `ttlMs`, (re)sets the set's expiry. */
  sadd(key: string, members: readonly string[], ttlMs?: number): Promise<number>
  /** Removes members from a set; resolves how many were there. */
  srem(key: string, members: readonly string[]): Promise<number>
  sismember(key: string, member: string): Promise<boolean>
  scard(key: string): Promise<number>
  /** Walks a set in batches with SSCAN (never SMEMBERS). Members present for the whole walk appear at least once. */
  sscan(key: string, options?: ScanOptions): AsyncIterable<string[]>

  /** Sets hash fields; resolves how many were new. With `ttlMs`, (re)sets the hash's expiry. */
  hset(key: string, fields: Readonly<Record<string, string>>, ttlMs?: number): Promise<number>
  /** All fields of a hash; `{}` when missing. */
  hgetall(key: string): Promise<Record<string, string>>
  hdel(key: string, fields: readonly string[]): Promise<number>

  /**
   * Walks the keyspace of every master with SCAN (never KEYS), in batches. Keys present for the
   * whole walk appear at least once; a key may appear twice.
   */
  scan(options?: ScanOptions): AsyncIterable<string[]>

  /** Registers a script under its name (idempotent for the same definition). */
  defineScript(definition: ScriptDefinition): void
  /** Runs a registered script atomically (EVALSHA with NOSCRIPT fallback on Redis). */
  runScript(name: string, keys: readonly string[], args: readonly (string | number)[]): Promise<ScriptReply>

  /** Publishes a message on a channel to every subscriber (in every process on Redis). */
  publish(channel: string, message: string): Promise<void>
  /** Subscribes to a channel; resolves once subscribed, with a function that unsubscribes this listener. */
  subscribe(channel: string, listener: MessageListener): Promise<() => Promise<void>>
  /**
   * Called after the subscriber connection came back from a disconnect (messages may have been missed).
   * Returns a function that removes the listener.
   */
  onSubscriberReconnect(listener: () => void): () => void

  /** Round trip time of a PING in milliseconds. */
  ping(): Promise<number>
  /** Releases resources; idempotent. */
  close(): Promise<void>
}
