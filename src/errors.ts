// Typed errors that every redkit module throws; each message says what to do next.
// Callers can branch on the class (`instanceof`) or on the stable `code` string.

/** Base class of every error redkit throws. */
export class RedkitError extends Error {
  /** Stable machine-readable code, e.g. `REDKIT_UNAVAILABLE`. */
  readonly code: string

  constructor(message: string, code = 'REDKIT_ERROR', options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** Options passed to `createRedkit` or a feature are invalid; thrown at construction. */
export class InvalidOptionsError extends RedkitError {
  constructor(message: string) {
    super(message, 'REDKIT_INVALID_OPTIONS')
  }
}

/**
 * Redis could not be reached: the circuit breaker is open, the connection is down,
 * or a command timed out. Features catch this to degrade (serve L1, insurance limiter).
 */
export class RedisUnavailableError extends RedkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'REDKIT_UNAVAILABLE', options)
  }
}

/**
 * Redis refused redkit's credentials or permissions: a wrong password or user (`WRONGPASS`), a server
 * that wants a password none was given for (`NOAUTH`), or an ACL user without the right (`NOPERM`).
 * Counts as Redis being unavailable (the cache serves its factory, the limiter its failure policy).
 */
export class RedisAuthError extends RedisUnavailableError {
  override readonly code = 'REDKIT_AUTH'
}

/**
 * The database index redkit was configured with cannot be selected (above the server's `databases`,
 * or SELECT is not allowed, as on Cluster). Nothing is read or written rather than use another database.
 */
export class RedisDatabaseError extends RedisUnavailableError {
  override readonly code = 'REDKIT_DATABASE'
}

/** A command did not answer within `commandTimeout`. */
export class CommandTimeoutError extends RedisUnavailableError {
  constructor(command: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(
      `Redis did not answer ${command} within ${timeoutMs} ms; the server may be hung or overloaded (raise commandTimeout if this is expected).`,
      options,
    )
  }
}

/** The kit was closed with `close()`; create a new one to go on. */
export class RedkitClosedError extends RedkitError {
  constructor() {
    super('This redkit instance is closed; create a new one with createRedkit().', 'REDKIT_CLOSED')
  }
}

/** A Lua script (or its in-memory twin) failed, or an unknown script name was called. */
export class ScriptError extends RedkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'REDKIT_SCRIPT', options)
  }
}

/**
 * Redis (or the embedded store) refused a command: wrong key type (`WRONGTYPE`), a value that is not
 * an integer, out of memory (`OOM`)... The message is the server's. Not a connectivity problem.
 */
export class StoreCommandError extends RedkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'REDKIT_COMMAND', options)
  }
}

/**
 * Redis is full (`OOM command not allowed when used memory > 'maxmemory'`, under `noeviction`): a write was
 * refused. Reads still work; the cache returns the value it computed and counts the failed write.
 */
export class RedisOutOfMemoryError extends StoreCommandError {
  override readonly code = 'REDKIT_OOM'
}

/** A value could not be serialized for the cache (a function, a symbol, a cycle, a `__proto__` key...). */
export class CacheSerializationError extends RedkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'REDKIT_CACHE_SERIALIZATION', options)
  }
}

/** A value is larger than the cache's `maxSize`; it was not stored. */
export class CacheValueTooLargeError extends RedkitError {
  constructor(key: string, size: number, maxSize: number) {
    super(
      `Cache value for '${key}' is ${size} bytes serialized, above maxSize ${maxSize}; it was not stored. Cache a smaller projection or raise maxSize.`,
      'REDKIT_CACHE_TOO_LARGE',
    )
  }
}

/** A getOrSet factory did not finish within `hardTimeout` and no stale value could stand in. */
export class CacheFactoryTimeoutError extends RedkitError {
  constructor(key: string, timeoutMs: number) {
    super(
      `The factory for '${key}' did not finish within hardTimeout ${timeoutMs} ms and no stale value was available; it was aborted. Raise hardTimeout, or set swr/grace so a stale value can be served.`,
      'REDKIT_CACHE_FACTORY_TIMEOUT',
    )
  }
}

/**
 * The data stored for a session id cannot be read (corrupt, or sealed with a key that is no longer
 * configured). The request fails rather than run with a made-up session; destroying the session
 * (or letting it expire) clears it.
 */
export class SessionDataError extends RedkitError {
  constructor(reason: string) {
    super(
      `The data stored for this session cannot be read (${reason}). Destroy the session or let it expire; if encryption keys were rotated, keep the old key in encryption.keys until old sessions are rewritten.`,
      'REDKIT_SESSION_DATA',
    )
  }
}

/** express-session is needed for this call (`createSession`) but is not installed. */
export class ExpressSessionMissingError extends RedkitError {
  constructor() {
    super(
      'express-session is not installed; add it (`npm install express-session`) to use kit.sessions() as an express-session store.',
      'REDKIT_PEER_MISSING',
    )
  }
}

/** The message of anything thrown (an Error's message, else its string form), for logs and wrapped errors. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
