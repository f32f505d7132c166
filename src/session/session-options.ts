// The options kit.sessions() takes, and their resolution into one checked object at construction,
// so a bad option fails when the app starts rather than on the first request.

import { randomBytes } from 'node:crypto'
import { type Duration, parseDuration } from '../config/duration.js'
import { checkName, checkOneOf, checkOptionKeys } from '../config/validate.js'
import { InvalidOptionsError } from '../errors.js'
import type { StoreMode } from '../store/store.js'
import type { SessionKeyMaterial } from './session-cipher.js'

/** The cookie part of a session, as express-session stores it. */
export interface SessionCookieData {
  originalMaxAge?: number | null
  maxAge?: number | null
  expires?: Date | string | null
  httpOnly?: boolean
  path?: string
  domain?: string
  secure?: boolean | 'auto'
  sameSite?: boolean | 'lax' | 'strict' | 'none'
}

/** A session as the store sees it: express-session's data, with its `cookie`. */
export interface SessionData {
  cookie?: SessionCookieData
  [key: string]: unknown
}

/**
 * What `set` and `touch` accept: any session object with the cookie (express-session's `SessionData`,
 * which apps augment, fits without an index signature).
 */
export interface SessionLike {
  cookie?: SessionCookieData
}

/** Turns session data into text and back. */
export interface SessionSerializer {
  stringify(data: SessionData): string
  parse(text: string): SessionData
}

/** Options of `kit.sessions()`. */
export interface SessionStoreOptions {
  /**
   * Key scope of this store: sessions live at `<app prefix><prefix>:<id>`, user indexes at
   * `<app prefix><prefix>.user:<userId>`. Two stores on one kit need two prefixes.
   * @default 'sess'
   * @example kit.sessions({ prefix: 'admin-sess' })
   */
  prefix?: string
  /**
   * Time to live of a session whose cookie has no expiry (or a function of the session giving ms).
   * A cookie with `expires`/`maxAge` sets the TTL itself.
   * @default '1d'
   * @example kit.sessions({ ttl: '12h' })
   */
  ttl?: Duration | ((session: SessionData) => number)
  /**
   * Do not extend the TTL when express-session calls `touch` (only `set` does).
   * @default false
   * @example kit.sessions({ disableTouch: true })
   */
  disableTouch?: boolean
  /**
   * Store sessions without expiry; they live until destroyed. `touch` does nothing.
   * @default false
   * @example kit.sessions({ disableTTL: true })
   */
  disableTTL?: boolean
  /**
   * How session data becomes text.
   * @default JSON (keys that reach a prototype are dropped when parsing)
   * @example kit.sessions({ serializer: { stringify: superjson.stringify, parse: superjson.parse } })
   */
  serializer?: SessionSerializer
  /**
   * Which user a session belongs to, for the per-user index (`destroyByUserId`, `listByUserId`).
   * Return `undefined` for an anonymous session.
   * @default (session) => session.userId
   * @example kit.sessions({ userIdOf: (session) => session.passport?.user })
   */
  userIdOf?: (session: SessionData) => string | number | null | undefined
  /**
   * What `listByUserId` shows for each session beside its times (IP, user agent...): whatever the
   * app keeps in the session at login.
   * @default () => undefined
   * @example kit.sessions({ metadataOf: (s) => ({ ip: s.ip, userAgent: s.userAgent }) })
   */
  metadataOf?: (session: SessionData) => Record<string, unknown> | undefined
  /**
   * Key of the HMAC that turns a session id into its Redis key, so keys, dumps, replicas and MONITOR
   * never show a usable session id. At least 32 bytes. Required with Redis unless `hashIds: false`;
   * in memory mode a random one is made per process.
   * @default none
   * @example kit.sessions({ secret: process.env.SESSION_KEY_SECRET })
   */
  secret?: string | Buffer
  /**
   * Store keys under the HMAC of the session id. `false` keeps connect-redis' layout (`sess:<id>`,
   * plain JSON readable), for migrating from it; see docs/sessions.md.
   * @default true
   * @example kit.sessions({ hashIds: false, secret: undefined })
   */
  hashIds?: boolean
  /**
   * Seal session data with AES-256-GCM. Encrypts with the first key and decrypts with any, so a key is
   * rotated by putting the new one first and dropping the old one once every session was rewritten.
   * @default none (data stored in clear)
   * @example kit.sessions({ secret, encryption: { keys: [process.env.SESSION_KEY_NEW, process.env.SESSION_KEY_OLD] } })
   */
  encryption?: { keys: readonly SessionKeyMaterial[] }
  /**
   * What express-session sees when Redis is down: `'error'` passes the error to each request (its
   * error handler answers); `'skip'` emits `disconnect` while the circuit breaker is open, so
   * express-session serves requests without `req.session`.
   * @default 'error'
   * @example kit.sessions({ unavailable: 'skip' })
   */
  unavailable?: 'error' | 'skip'
  /**
   * Keys per SCAN step for `all`, `ids`, `length` and `clear`.
   * @default 1000
   * @example kit.sessions({ scanCount: 500 })
   */
  scanCount?: number
}

/** @internal */
export interface ResolvedSessionOptions {
  prefix: string
  ttl: (session: SessionData) => number
  disableTouch: boolean
  disableTTL: boolean
  serializer: SessionSerializer | undefined
  userIdOf: (session: SessionData) => string | undefined
  metadataOf: (session: SessionData) => Record<string, unknown> | undefined
  secret: string | Buffer | undefined
  encryptionKeys: readonly SessionKeyMaterial[]
  unavailable: 'error' | 'skip'
  scanCount: number
}

let processSecret: Buffer | undefined

const KNOWN = new Set([
  'prefix',
  'ttl',
  'disableTouch',
  'disableTTL',
  'serializer',
  'userIdOf',
  'metadataOf',
  'secret',
  'hashIds',
  'encryption',
  'unavailable',
  'scanCount',
])

const ENCRYPTION_KNOWN = new Set(['keys'])
const UNAVAILABLE_POLICIES = ['error', 'skip'] as const

const CALL_KNOWN = {
  destroyByUserId: new Set(['except']),
  listByUserId: new Set(['current']),
}

/**
 * Checks the options of one store call: a typo in `except` would log the current device out too.
 * @throws InvalidOptionsError
 */
export function checkSessionCallOptions(call: keyof typeof CALL_KNOWN, options: unknown): void {
  checkOptionKeys(options, CALL_KNOWN[call], `sessions ${call}`)
}

/** Checks options and fills defaults. @throws InvalidOptionsError */
export function resolveSessionOptions(options: SessionStoreOptions, mode: StoreMode): ResolvedSessionOptions {
  checkOptionKeys(options, KNOWN, 'sessions')
  const prefix = options.prefix ?? 'sess'
  checkName(prefix, 'sessions: prefix')
  const hashIds = options.hashIds ?? true
  let secret = options.secret
  if (hashIds && secret === undefined) {
    if (mode !== 'memory') {
      throw new InvalidOptionsError(
        'sessions: set `secret` (32+ bytes, e.g. `openssl rand -base64 32`) so session ids are stored as an HMAC, or set `hashIds: false` to keep them in clear.',
      )
    }
    // Sessions in memory die with the process, so a per-process key loses nothing; one key for
    // every store of the process, so two stores on one prefix see the same sessions.
    processSecret ??= randomBytes(32)
    secret = processSecret
  }
  if (!hashIds && secret !== undefined) {
    throw new InvalidOptionsError('sessions: `secret` is only used with `hashIds: true`; remove one of them.')
  }
  if (options.encryption !== undefined) {
    checkOptionKeys(options.encryption, ENCRYPTION_KNOWN, 'sessions', {
      path: 'encryption',
      example: '{ keys: [newestKey, olderKey] }',
    })
  }
  const keys = options.encryption?.keys ?? []
  if (options.encryption !== undefined && (!Array.isArray(keys) || keys.length === 0)) {
    throw new InvalidOptionsError('sessions: encryption.keys must list at least one key, newest first.')
  }
  const ttl = options.ttl ?? '1d'
  let ttlOf: (session: SessionData) => number
  if (typeof ttl === 'function') ttlOf = ttl
  else {
    const ttlMs = parseDuration(ttl, 'sessions: ttl')
    if (ttlMs === 0)
      throw new InvalidOptionsError('sessions: ttl must be greater than 0 (or use disableTTL).')
    ttlOf = () => ttlMs
  }
  const unavailable = checkOneOf(
    options.unavailable ?? 'error',
    UNAVAILABLE_POLICIES,
    'sessions',
    'unavailable',
  )
  const scanCount = options.scanCount ?? 1000
  if (!Number.isInteger(scanCount) || scanCount < 1) {
    throw new InvalidOptionsError(`sessions: scanCount must be a positive integer, got ${scanCount}.`)
  }
  for (const name of ['userIdOf', 'metadataOf'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new InvalidOptionsError(`sessions: ${name} must be a function of the session.`)
    }
  }
  const serializer = options.serializer
  if (
    serializer !== undefined &&
    (typeof serializer?.stringify !== 'function' || typeof serializer?.parse !== 'function')
  ) {
    throw new InvalidOptionsError('sessions: serializer needs stringify(data) and parse(text).')
  }
  const userIdOf = options.userIdOf ?? ((session: SessionData) => session.userId)
  return {
    prefix,
    ttl: ttlOf,
    disableTouch: options.disableTouch ?? false,
    disableTTL: options.disableTTL ?? false,
    serializer,
    userIdOf: (session) => {
      const id = userIdOf(session)
      return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined
    },
    metadataOf: options.metadataOf ?? (() => undefined),
    secret: hashIds ? secret : undefined,
    encryptionKeys: keys,
    unavailable,
    scanCount,
  }
}
