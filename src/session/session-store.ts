// The express-session store on redkit's store: sessions keyed by an HMAC of their id, a per-user index
// for "log out everywhere" and "your devices", and conditional writes so a logout wins over requests in flight.

import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { BreakerStateChange } from '../connection/circuit-breaker.js'
import { ExpressSessionMissingError, SessionDataError } from '../errors.js'
import type { FeatureContext } from '../feature-context.js'
import type { KeyBuilder } from '../keys/key-builder.js'
import type { Logger } from '../logger.js'
import {
  type SessionTraceContext,
  sessionGetChannel,
  sessionSetChannel,
  traceWithoutResult,
} from '../metrics/tracing-channels.js'
import { type ReadBatcher, readBatcherFor } from '../store/read-batcher.js'
import type { Store } from '../store/store.js'
import { type WriteBatcher, writeBatcherFor } from '../store/write-batcher.js'
import { loadExpressSession, loadedExpressSession } from './express-session-module.js'
import { SessionCipher } from './session-cipher.js'
import {
  type DecodedSession,
  jsonSerializer,
  SessionCodec,
  UndecodableSessionError,
} from './session-codec.js'
import {
  checkSessionCallOptions,
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionData,
  type SessionLike,
  type SessionStoreOptions,
} from './session-options.js'
import { INDEX_PRUNE, INDEX_TRACK, sessionScripts } from './session-scripts.js'

/** One session of a user, as {@link SessionStore.listByUserId} reports it. */
export interface SessionInfo {
  /**
   * The session's id as stored: the HMAC of the session id (the id itself with `hashIds: false`).
   * Safe to show in a page; pass it to {@link SessionStore.destroyListed} to end that session.
   */
  id: string
  /** True for the session whose id was given as `current`. */
  current: boolean
  /** When the user's index first saw this session (usually: when the user signed in on it). */
  createdAt: Date
  /** The last save or touch. */
  lastActivity: Date
  /** When it expires unless used again; `null` without expiry. */
  expiresAt: Date | null
  /** What `metadataOf` returns for it (IP, user agent...). */
  metadata: Record<string, unknown> | undefined
}

/** Options of {@link SessionStore.destroyByUserId}. */
export interface DestroyByUserIdOptions {
  /** A session id (`req.sessionID`) to keep: "log out my other devices". */
  except?: string
}

/** Options of {@link SessionStore.listByUserId}. */
export interface ListByUserIdOptions {
  /** The requesting session's id (`req.sessionID`), so its entry is flagged `current`. */
  current?: string
}

/** A listener source for breaker changes: the Redkit instance. */
export interface BreakerEvents {
  on(event: 'breakerStateChange', listener: (change: BreakerStateChange) => void): unknown
  off(event: 'breakerStateChange', listener: (change: BreakerStateChange) => void): unknown
}

type Callback<T> = (error: unknown, result?: T) => void

/** The longest a user index outlives its last session, and the widest expiry drift that skips an index write. */
const INDEX_GRACE_MS = 60_000
const TRACKED_MAX = 10_000
/** Recent session ids whose stored id and key are kept: an HMAC per call would double this store's CPU. */
const ADDRESS_CACHE_MAX = 10_000

/**
 * An express-session store: pass it as `session({ store })`. Implements the whole store contract
 * (get, set, touch, destroy, clear, length, ids, all, regenerate, load, createSession) with
 * callbacks; every method also returns a promise when called without one.
 *
 * - Keys are `HMAC-SHA256(secret, sessionId)`, so nothing stored hands out a live session id.
 * - `destroyByUserId` / `listByUserId` use a per-user index kept free of expired sessions.
 * - A request that loaded a session before it was destroyed saves it only if it still exists
 *   (`SET … XX`), so a request in flight at logout cannot bring it back.
 * - Redis down: each call fails with `RedisUnavailableError` and express-session passes it on.
 *
 * @example
 * app.use(session({ secret: cookieSecret, resave: false, saveUninitialized: false,
 *   store: kit.sessions({ ttl: '1d', secret: process.env.SESSION_KEY_SECRET }) }))
 * await store.destroyByUserId(user.id, { except: req.sessionID })
 */
export class SessionStore extends EventEmitter {
  /** Set by express-session when the store is handed to it: makes a new session on a request. */
  generate?: (req: object) => void
  /** The key scope of this store (the `prefix` option): sessions live at `<app prefix><prefix>:<id>`. */
  readonly prefix: string
  readonly #store: Store
  /** Session reads of one tick as one MGET (single-node Redis and Sentinel). */
  readonly #reads: ReadBatcher | undefined
  /** Session saves of one tick as one script call (single-node Redis and Sentinel). */
  readonly #writes: WriteBatcher | undefined
  readonly #logger: Logger
  readonly #options: ResolvedSessionOptions
  readonly #cipher: SessionCipher
  readonly #codec: SessionCodec
  readonly #sessionKeys: KeyBuilder
  readonly #userKeys: KeyBuilder
  readonly #hashIds: boolean
  /** The kit's key prefix, for trace contexts. */
  readonly #kitPrefix: string
  /** Session id → [stored id, key] of recent sessions; cleared whole when full (cheaper than an LRU). */
  readonly #addresses = new Map<string, [id: string, key: string]>()
  /** Expiry text → ms, for {@link #parseExpiry}; cleared whole when full. */
  readonly #expiries = new Map<string, number>()
  /**
   * Session objects built from stored data (express-session's `req.session`). Saving one of them
   * back is conditional on the session still existing; a new session is written as is. A WeakSet:
   * an entry lives exactly as long as its request holds the session.
   */
  readonly #loaded = new WeakSet<object>()
  /** Index entries this process wrote, so saving an unchanged session costs no index write. */
  readonly #tracked = new TrackedEntries(TRACKED_MAX, INDEX_GRACE_MS)
  /** Counters for `kit.metrics().sessions[prefix]`. */
  readonly #counts = { reads: 0, saves: 0, savesRefused: 0, destroys: 0, unreadable: 0 }

  /** @internal use `kit.sessions()` */
  constructor(context: FeatureContext, options: SessionStoreOptions = {}, breaker?: BreakerEvents) {
    super()
    this.#options = resolveSessionOptions(options, context.store.mode)
    this.#hashIds = this.#options.secret !== undefined
    this.prefix = this.#options.prefix
    this.#store = context.store
    this.#reads = readBatcherFor(context.store)
    this.#writes = writeBatcherFor(context.store)
    this.#logger = context.logger
    this.#cipher = new SessionCipher(this.#options.secret, this.#options.encryptionKeys)
    this.#codec = new SessionCodec(this.#cipher, this.#options.serializer ?? jsonSerializer, !this.#hashIds)
    this.#sessionKeys = context.keys.scope(this.#options.prefix)
    this.#kitPrefix = context.keys.prefix
    this.#userKeys = context.keys.scope(`${this.#options.prefix}.user`)
    for (const script of sessionScripts) this.#store.defineScript(script)
    context.onClose(context.registerMetrics('sessions', this.#options.prefix, () => ({ ...this.#counts })))
    void loadExpressSession()
    if (breaker && this.#options.unavailable === 'skip') {
      const onChange = (change: BreakerStateChange): void => {
        if (change.to === 'open') this.emit('disconnect')
        else if (change.to === 'closed') this.emit('connect')
      }
      breaker.on('breakerStateChange', onChange)
      context.onClose(() => {
        breaker.off('breakerStateChange', onChange)
      })
    }
  }

  /**
   * The id a session is stored under: the HMAC of `sid` (`sid` itself with `hashIds: false`). It is
   * the `id` that `listByUserId`, `ids` and `all` report.
   */
  storedId(sid: string): string {
    return this.#cipher.storedId(sid)
  }

  /** The session of this id, or `null` when there is none (expired, destroyed, never saved). */
  get(sid: string): Promise<SessionData | null>
  get(sid: string, callback: Callback<SessionData | null>): void
  get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> | undefined {
    return settle(sessionGetChannel.hasSubscribers ? this.#tracedGet(sid) : this.#get(sid), callback)
  }

  /** Saves a session, unless its id was destroyed (then nothing is written). */
  set(sid: string, session: SessionLike | SessionData): Promise<void>
  set(sid: string, session: SessionLike | SessionData, callback: Callback<void>): void
  set(sid: string, session: SessionLike | SessionData, callback?: Callback<void>): Promise<void> | undefined {
    const data = session as SessionData
    if (!sessionSetChannel.hasSubscribers) return settle(this.#set(sid, data), callback)
    return settle(
      sessionSetChannel.tracePromise(() => this.#set(sid, data), this.#traceContext(sid)),
      callback,
    )
  }

  /** Extends a live session's TTL (no-op with `disableTouch`/`disableTTL`, or when it was destroyed). */
  touch(sid: string, session: SessionLike | SessionData): Promise<void>
  touch(sid: string, session: SessionLike | SessionData, callback: Callback<void>): void
  touch(
    sid: string,
    session: SessionLike | SessionData,
    callback?: Callback<void>,
  ): Promise<void> | undefined {
    return settle(this.#touch(sid, session as SessionData), callback)
  }

  /** Ends a session: its data is gone, and requests that loaded it before cannot save it back. */
  destroy(sid: string): Promise<void>
  destroy(sid: string, callback: Callback<void>): void
  destroy(sid: string, callback?: Callback<void>): Promise<void> | undefined {
    return settle(this.#destroy(sid), callback)
  }

  /** Deletes every session and user index of this store (SCAN on every master, this prefix only). */
  clear(): Promise<void>
  clear(callback: Callback<void>): void
  clear(callback?: Callback<void>): Promise<void> | undefined {
    return settle(this.#clear(), callback)
  }

  /** How many live sessions this store holds. */
  length(): Promise<number>
  length(callback: Callback<number>): void
  length(callback?: Callback<number>): Promise<number> | undefined {
    return settle(this.#length(), callback)
  }

  /** The stored ids of every live session (HMACs with `hashIds`, session ids without). */
  ids(): Promise<string[]>
  ids(callback: Callback<string[]>): void
  ids(callback?: Callback<string[]>): Promise<string[]> | undefined {
    return settle(this.#ids(), callback)
  }

  /** Every live session, each with its stored `id`. Unreadable ones are logged and left out. */
  all(): Promise<(SessionData & { id: string })[]>
  all(callback: Callback<(SessionData & { id: string })[]>): void
  all(
    callback?: Callback<(SessionData & { id: string })[]>,
  ): Promise<(SessionData & { id: string })[]> | undefined {
    return settle(this.#all(), callback)
  }

  /** express-session's `req.session.regenerate`: destroys the session, then makes a new one. */
  regenerate(req: { sessionID: string }, callback: (error?: unknown) => void): void {
    this.destroy(req.sessionID, (error) => {
      this.generate?.(req)
      callback(error ?? undefined)
    })
  }

  /** express-session's `load`: the session as a `Session` object, or nothing. */
  load<T = SessionData>(sid: string, callback: (error: unknown, session?: T) => void): void {
    this.get(sid, (error, data) => {
      if (error) return callback(error)
      if (!data) return callback(null)
      try {
        callback(null, this.createSession<T>({ sessionID: sid, sessionStore: this }, data))
      } catch (failure) {
        callback(failure)
      }
    })
  }

  /**
   * express-session's `createSession`: builds `req.session` from stored data, with express-session's
   * own code (borrowed from its `Store`, loaded on first use, so redkit does not require it).
   * @throws ExpressSessionMissingError when express-session is not installed
   */
  createSession<T = SessionData>(req: object, data: object): T {
    const module = loadedExpressSession()
    if (!module) throw new ExpressSessionMissingError()
    const session = module.Store.prototype.createSession.call(this, req, data) as object
    this.#loaded.add(session)
    return session as T
  }

  /**
   * Ends every session of a user ("log out everywhere"), or all but `except` ("log out my other
   * devices"). Like `destroy`, requests in flight on those sessions cannot save them back.
   * @returns how many sessions were ended
   * @example await store.destroyByUserId(user.id, { except: req.sessionID })
   */
  async destroyByUserId(userId: string | number, options: DestroyByUserIdOptions = {}): Promise<number> {
    checkSessionCallOptions('destroyByUserId', options)
    const user = String(userId)
    const keep = options.except === undefined ? undefined : this.#cipher.storedId(options.except)
    const index = this.#userKeys.build(user)
    const entries = await this.#store.hgetall(index)
    const ids = Object.keys(entries).filter((id) => id !== keep)
    const ended = await Promise.all(ids.map((id) => this.#destroyOwned(user, id)))
    if (ids.length > 0) await this.#store.hdel(index, ids)
    return ended.filter(Boolean).length
  }

  /**
   * Ends one session of a user, by the `id` that `listByUserId` gave ("sign out this device").
   * Only sessions of that user are touched, whatever id is passed.
   * @returns whether a session was ended
   */
  async destroyListed(userId: string | number, id: string): Promise<boolean> {
    const user = String(userId)
    const index = this.#userKeys.build(user)
    const entries = await this.#store.hgetall(index)
    if (!(id in entries)) return false
    const ended = await this.#destroyOwned(user, id)
    await this.#store.hdel(index, [id])
    return ended
  }

  /**
   * The live sessions of a user, most recently active first: enough for a "your devices" page.
   * Entries of sessions that are gone are pruned from the index on the way.
   * @example const devices = await store.listByUserId(req.session.userId, { current: req.sessionID })
   */
  async listByUserId(userId: string | number, options: ListByUserIdOptions = {}): Promise<SessionInfo[]> {
    checkSessionCallOptions('listByUserId', options)
    const user = String(userId)
    const index = this.#userKeys.build(user)
    const entries = await this.#store.hgetall(index)
    const current = options.current === undefined ? undefined : this.#cipher.storedId(options.current)
    const now = Date.now()
    const stale: string[] = []
    const infos: SessionInfo[] = []
    await Promise.all(
      Object.entries(entries).map(async ([id, entry]) => {
        const key = this.#sessionKeys.build(id)
        const [value, pttl] = await Promise.all([this.#store.get(key), this.#store.pttl(key)])
        const decoded = value === null ? null : this.#tryDecode(value, id)
        if (decoded === undefined) return
        if (decoded === null || this.#options.userIdOf(decoded.data) !== user) {
          stale.push(id, entry)
          return
        }
        const expiresAt = pttl > 0 ? now + pttl : null
        let lastActivity = decoded.writtenAt ?? now
        // A touch moves the expiry without rewriting the data: the expiry tells when it happened.
        if (expiresAt !== null && decoded.ttlMs)
          lastActivity = Math.max(lastActivity, expiresAt - decoded.ttlMs)
        const createdAt = Number(/:(\d+)$/.exec(entry)?.[1] ?? lastActivity)
        infos.push({
          id,
          current: id === current,
          createdAt: new Date(createdAt),
          lastActivity: new Date(lastActivity),
          expiresAt: expiresAt === null ? null : new Date(expiresAt),
          metadata: this.#options.metadataOf(decoded.data),
        })
      }),
    )
    if (stale.length > 0) await this.#store.runScript(INDEX_PRUNE, [index], stale)
    return infos.sort((a, b) => b.lastActivity.getTime() - a.lastActivity.getTime())
  }

  /** {@link get} published on `redkit:session:get`: the session data stays out of the context. */
  #tracedGet(sid: string): Promise<SessionData | null> {
    const context = this.#traceContext(sid)
    return traceWithoutResult(sessionGetChannel, context, () =>
      this.#get(sid).then((data) => {
        context.found = data !== null
        return data
      }),
    )
  }

  /** A trace context names the session by a hash prefix: the session id is a credential. */
  #traceContext(sid: string): SessionTraceContext {
    let sessionId = ''
    try {
      sessionId = this.#logId(this.#address(sid)[0])
    } catch {
      // A malformed id: the call itself rejects with the reason.
    }
    return { prefix: this.#kitPrefix, store: this.prefix, sessionId }
  }

  /** The stored id and key of a session id. */
  #address(sid: string): [id: string, key: string] {
    let address = this.#addresses.get(sid)
    if (address === undefined) {
      const id = this.#cipher.storedId(sid)
      address = [id, this.#sessionKeys.build(id)]
      if (this.#addresses.size >= ADDRESS_CACHE_MAX) this.#addresses.clear()
      this.#addresses.set(sid, address)
    }
    return address
  }

  // The read and save paths are plain promise chains rather than async functions: they run on every
  // request, and each async layer costs a promise and a resumption.
  #get(sid: string): Promise<SessionData | null> {
    const [id, key] = this.#address(sid)
    this.#counts.reads++
    return (this.#reads ? this.#reads.get(key) : this.#store.get(key)).then((value) =>
      // express-session calls createSession right after a get: make sure its module is there by then.
      loadedExpressSession()
        ? this.#dataOf(value, id)
        : loadExpressSession().then(() => this.#dataOf(value, id)),
    )
  }

  #dataOf(value: string | null, id: string): SessionData | null {
    if (value === null) return null
    return this.#decode(value, id)?.data ?? null
  }

  #set(sid: string, session: SessionData): Promise<void> {
    let ttlMs: number | null
    let id: string
    let key: string
    let value: string
    let userId: string | undefined
    let now: number
    try {
      ttlMs = this.#ttlMs(session)
      if (ttlMs !== null && ttlMs <= 0) return this.#destroy(sid)
      ;[id, key] = this.#address(sid)
      now = Date.now()
      value = this.#codec.encode(session, now, ttlMs ?? 0, id)
      userId = this.#options.userIdOf(session)
    } catch (error) {
      return Promise.reject(error)
    }
    // A session read from the store is written back only if it still exists (SET XX, atomic in
    // Redis): when a logout destroyed it meanwhile, this request must not bring it back.
    const condition = this.#loaded.has(session) ? 'XX' : undefined
    const save = () => this.#save(id, key, value, ttlMs, condition, userId)
    // Index first, data second: a destroyByUserId that runs in between finds the entry and ends the
    // session after the write, or before it, and then the conditional write below is refused.
    const expiresAt = ttlMs === null ? 0 : now + ttlMs
    if (userId !== undefined) {
      if (this.#mustTrack(userId, id, expiresAt, now))
        return this.#track(userId, id, expiresAt, now).then(save)
    } else if (this.#tracked.has(id)) {
      return this.#untrack(this.#tracked.get(id)!.userId, id).then(save)
    }
    return save()
  }

  #save(
    id: string,
    key: string,
    value: string,
    ttlMs: number | null,
    condition: 'XX' | undefined,
    userId: string | undefined,
  ): Promise<void> {
    const write = this.#writes
      ? this.#writes.set(key, value, ttlMs ?? 0, condition)
      : this.#store.set(key, value, { ttlMs: ttlMs ?? 0, condition })
    return write.then((saved) => {
      this.#counts.saves++
      if (saved) return
      this.#counts.savesRefused++
      this.#logger.debug({ session: this.#logId(id) }, 'redkit: did not save a session destroyed meanwhile')
      if (userId !== undefined) return this.#untrack(userId, id)
    })
  }

  async #touch(sid: string, session: SessionData): Promise<void> {
    if (this.#options.disableTouch || this.#options.disableTTL) return
    const ttlMs = this.#ttlMs(session)!
    if (ttlMs <= 0) return this.#destroy(sid)
    const [id, key] = this.#address(sid)
    const now = Date.now()
    // PEXPIRE never creates a key, so a touch cannot revive a destroyed session either.
    const touched = await this.#store.pexpire(key, ttlMs)
    const userId = this.#options.userIdOf(session)
    if (touched && userId !== undefined && this.#mustTrack(userId, id, now + ttlMs, now)) {
      await this.#track(userId, id, now + ttlMs, now)
    }
  }

  async #destroy(sid: string): Promise<void> {
    const [id, key] = this.#address(sid)
    this.#counts.destroys++
    const old = await this.#store.get(key)
    await this.#store.del([key])
    const users = new Set<string>()
    const remembered = this.#tracked.get(id)?.userId
    if (remembered !== undefined) users.add(remembered)
    this.#tracked.delete(id)
    if (old !== null) {
      const decoded = this.#tryDecode(old, id)
      const owner = decoded ? this.#options.userIdOf(decoded.data) : undefined
      if (owner !== undefined) users.add(owner)
    }
    await Promise.all([...users].map((user) => this.#store.hdel(this.#userKeys.build(user), [id])))
  }

  /** Ends a session of `user` unless it now belongs to someone else; true when one was ended. */
  async #destroyOwned(user: string, id: string): Promise<boolean> {
    const key = this.#sessionKeys.build(id)
    const value = await this.#store.get(key)
    if (value === null) return false
    const decoded = this.#tryDecode(value, id)
    // An unreadable session listed under this user is ended too: "log out everywhere" must not leave one.
    if (decoded && this.#options.userIdOf(decoded.data) !== user) return false
    this.#tracked.delete(id)
    return (await this.#store.del([key])) > 0
  }

  /**
   * Whether the index entry needs a write: not when this process wrote nearly the same one recently
   * (the index key outlives its entries by INDEX_GRACE_MS, more than the drift allowed here).
   */
  #mustTrack(userId: string, id: string, expiresAt: number, now: number): boolean {
    const known = this.#tracked.get(id)
    if (known?.userId !== userId) return true
    if (known.expiresAt === expiresAt) return false
    if (known.expiresAt === 0 || expiresAt === 0) return true
    return expiresAt - known.expiresAt >= Math.min(INDEX_GRACE_MS, (expiresAt - now) / 10)
  }

  /** Adds or refreshes the index entry (moving it from another user's index if the session changed hands). */
  async #track(userId: string, id: string, expiresAt: number, now: number): Promise<void> {
    const known = this.#tracked.get(id)
    if (known && known.userId !== userId) await this.#untrack(known.userId, id)
    const index = this.#userKeys.build(userId)
    const overdue = await this.#store.runScript(INDEX_TRACK, [index], [id, expiresAt, now, INDEX_GRACE_MS])
    this.#tracked.set(id, { userId, expiresAt })
    if (Array.isArray(overdue) && overdue.length > 0) {
      await this.#reviewOverdue(userId, index, overdue as string[])
    }
  }

  async #untrack(userId: string, id: string): Promise<void> {
    this.#tracked.delete(id)
    await this.#store.hdel(this.#userKeys.build(userId), [id])
  }

  /**
   * Index entries past their recorded expiry: prune those whose session is gone, refresh those that
   * a touch kept alive (their session lives in another slot, so this cannot run inside the script).
   */
  async #reviewOverdue(userId: string, index: string, pairs: readonly string[]): Promise<void> {
    const stale: string[] = []
    const now = Date.now()
    await Promise.all(
      pairs.map(async (id, i) => {
        if (i % 2 === 1) return
        const key = this.#sessionKeys.build(id)
        const [value, pttl] = await Promise.all([this.#store.get(key), this.#store.pttl(key)])
        const decoded = value === null ? null : this.#tryDecode(value, id)
        if (decoded && this.#options.userIdOf(decoded.data) === userId && pttl !== -2) {
          await this.#store.runScript(
            INDEX_TRACK,
            [index],
            [id, pttl > 0 ? now + pttl : 0, now, INDEX_GRACE_MS],
          )
        } else if (decoded !== undefined) {
          stale.push(id, pairs[i + 1]!)
        }
      }),
    )
    if (stale.length > 0) await this.#store.runScript(INDEX_PRUNE, [index], stale)
  }

  async #clear(): Promise<void> {
    for (const builder of [this.#sessionKeys, this.#userKeys]) {
      for await (const batch of this.#store.scan({
        match: builder.pattern(),
        count: this.#options.scanCount,
      })) {
        await this.#store.del(batch)
      }
    }
    this.#tracked.clear()
  }

  async #length(): Promise<number> {
    let count = 0
    for await (const batch of this.#live()) count += batch.length
    return count
  }

  async #ids(): Promise<string[]> {
    const ids: string[] = []
    for await (const batch of this.#live()) for (const [id] of batch) ids.push(id)
    return ids
  }

  async #all(): Promise<(SessionData & { id: string })[]> {
    const sessions: (SessionData & { id: string })[] = []
    for await (const batch of this.#live()) {
      for (const [id, value] of batch) {
        const decoded = this.#tryDecode(value, id)
        if (decoded) sessions.push({ ...decoded.data, id })
      }
    }
    return sessions
  }

  /** Live sessions in batches as [stored id, value]; keys SCAN repeats are skipped. */
  async *#live(): AsyncIterable<[string, string][]> {
    const seen = new Set<string>()
    const start = this.#sessionKeys.prefix.length
    for await (const batch of this.#store.scan({
      match: this.#sessionKeys.pattern(),
      count: this.#options.scanCount,
    })) {
      const keys = batch.filter((key) => !seen.has(key))
      for (const key of keys) seen.add(key)
      const values = await this.#store.mget(keys)
      const live: [string, string][] = []
      keys.forEach((key, i) => {
        const value = values[i]
        if (value !== null && value !== undefined) live.push([unescapePart(key.slice(start)), value])
      })
      if (live.length > 0) yield live
    }
  }

  /** The TTL a save or touch gives: from the cookie's expiry, else the `ttl` option; `null` with disableTTL. */
  #ttlMs(session: SessionData): number | null {
    if (this.#options.disableTTL) return null
    const expires = session.cookie?.expires
    if (expires) {
      // express-session's Cookie holds a Date; plain objects (direct calls) may hold its ISO text.
      const at = expires instanceof Date ? expires.getTime() : this.#parseExpiry(expires)
      if (Number.isFinite(at)) return Math.ceil(at - Date.now())
    }
    return this.#options.ttl(session)
  }

  /** An expiry given as text, parsed once per distinct value: a session keeps one until its cookie is renewed. */
  #parseExpiry(text: string): number {
    let at = this.#expiries.get(text)
    if (at === undefined) {
      at = Date.parse(text)
      if (this.#expiries.size >= ADDRESS_CACHE_MAX) this.#expiries.clear()
      this.#expiries.set(text, at)
    }
    return at
  }

  /** @throws SessionDataError for a value that cannot be read (logged) */
  #decode(value: string, id: string): DecodedSession | null {
    try {
      return this.#codec.decode(value, id)
    } catch (error) {
      if (!(error instanceof UndecodableSessionError)) throw error
      this.#counts.unreadable++
      this.#logger.warn(
        { session: this.#logId(id), reason: error.message },
        'redkit: unreadable session data',
      )
      throw new SessionDataError(error.message)
    }
  }

  /** Like {@link #decode}, but an unreadable value gives `undefined` (logged) instead of throwing. */
  #tryDecode(value: string, id: string): DecodedSession | null | undefined {
    try {
      return this.#decode(value, id)
    } catch (error) {
      if (error instanceof SessionDataError) return undefined
      throw error
    }
  }

  /** What logs show for a session: never an id that could be replayed as a cookie. */
  #logId(id: string): string {
    return this.#hashIds ? id.slice(0, 12) : createHash('sha256').update(id).digest('base64url').slice(0, 12)
  }
}

/** Runs `work`; with a callback, reports to it and returns nothing, else returns the promise. */
function settle<T>(work: Promise<T>, callback: Callback<T> | undefined): Promise<T> | undefined {
  if (!callback) return work
  work.then(
    (result) => callback(null, result),
    (error: unknown) => callback(error),
  )
  return undefined
}

/** Reverses the key builder's escaping of a text part (`%XX`, and `%uXXXX` for a lone surrogate). */
function unescapePart(text: string): string {
  return text.includes('%')
    ? text.replace(
        /%(?:u([0-9A-F]{4})|([0-9A-F]{2}))/g,
        (_, unit: string | undefined, hex: string | undefined) =>
          String.fromCharCode(Number.parseInt(unit ?? hex!, 16)),
      )
    : text
}

/**
 * What this process last wrote to the user index, per stored id: a Map cleared whole when full,
 * whose entries count only for `maxAgeMs` (another process may have changed the index since).
 */
class TrackedEntries {
  readonly #entries = new Map<string, { userId: string; expiresAt: number; at: number }>()
  readonly #max: number
  readonly #maxAgeMs: number

  constructor(max: number, maxAgeMs: number) {
    this.#max = max
    this.#maxAgeMs = maxAgeMs
  }

  get(id: string): { userId: string; expiresAt: number } | undefined {
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    if (Date.now() - entry.at > this.#maxAgeMs) {
      this.#entries.delete(id)
      return undefined
    }
    return entry
  }

  has(id: string): boolean {
    return this.get(id) !== undefined
  }

  set(id: string, entry: { userId: string; expiresAt: number }): void {
    if (this.#entries.size >= this.#max) this.#entries.clear()
    this.#entries.set(id, { ...entry, at: Date.now() })
  }

  delete(id: string): void {
    this.#entries.delete(id)
  }

  clear(): void {
    this.#entries.clear()
  }
}
