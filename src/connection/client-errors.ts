// Turns what the Redis client throws into redkit's typed errors, and strips every client error of what
// could carry a credential (command arguments, options, nested causes) before it is kept as a `cause`.

import {
  CommandTimeoutError,
  errorMessage,
  RedisAuthError,
  RedisDatabaseError,
  RedisOutOfMemoryError,
  RedisUnavailableError,
  RedkitError,
  StoreCommandError,
} from '../errors.js'

/** Reply errors that mean "the server cannot serve right now"; they count for the breaker. */
const UNAVAILABLE_REPLY = /^(LOADING|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|READONLY)\b/
/** Reply errors that mean "these credentials or this ACL user may not do this". */
const AUTH_REPLY =
  /^(WRONGPASS|NOAUTH|NOPERM)\b|^ERR (invalid password|AUTH <password> called without any password)/
/** What a server answers to a SELECT it cannot honour. */
const DATABASE_REPLY =
  /^ERR (DB index is out of range|invalid DB index|SELECT is not allowed in cluster mode)/
/** Socket-level error codes that mean the server is not there (as opposed to slow). */
const REFUSED_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/** Fields of a Node system error worth keeping; none of them can hold a credential. */
const SAFE_FIELDS = ['code', 'errno', 'syscall', 'address', 'port'] as const

/** Whether `error` is an error reply from the server (as opposed to a socket or client failure). */
export function isReplyError(error: unknown): error is Error {
  // By class name, not instanceof: a client passed in by the app may come from another copy of the package.
  if (!(error instanceof Error)) return false
  const name = error.constructor.name
  return name === 'ErrorReply' || name === 'SimpleError' || name === 'BlobError' || name === 'MultiErrorReply'
}

/** Whether an error means "Redis could not serve" (as opposed to a reply caused by the command itself). */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof RedkitError) return error instanceof RedisUnavailableError
  if (isReplyError(error)) {
    const message = error.message
    return UNAVAILABLE_REPLY.test(message) || AUTH_REPLY.test(message) || DATABASE_REPLY.test(message)
  }
  return true
}

/** Whether a failure means the server refused or reset the connection (known at once, not after a timeout). */
export function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && REFUSED_CODES.has(code)
}

/**
 * A copy of a client error that keeps its name, message and the system-error fields (`code`, `port`...),
 * and nothing else: no command, no arguments, no options, no nested cause. `secrets` are cut out of the
 * message too, in case a server or proxy echoed one.
 */
export function scrubError(error: unknown, secrets: readonly string[] = []): Error {
  if (error instanceof RedkitError) return error
  const source = error instanceof Error ? error : new Error(String(error))
  const copy = new Error(redact(source.message, secrets))
  copy.name = source.name === 'Error' ? source.constructor.name : source.name
  for (const field of SAFE_FIELDS) {
    const value = (source as unknown as Record<string, unknown>)[field]
    if (typeof value === 'string' || typeof value === 'number') {
      Object.defineProperty(copy, field, { value, enumerable: true })
    }
  }
  copy.stack = `${copy.name}: ${copy.message}`
  return copy
}

/** `text` with every secret replaced by `[redacted]`, and credentials in URLs removed. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi, '$1***@')
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('[redacted]')
  return out
}

/** What the caller of a failed command is told; `where` is `host:port` (never with credentials). */
export interface TranslateContext {
  command: string
  where: string
  timeoutMs: number
  secrets: readonly string[]
}

/**
 * The redkit error for a client failure: typed by what happened (auth, database, OOM, timeout, refused,
 * unavailable), with a message that says what to do and the scrubbed client error as `cause`.
 */
export function translateClientError(error: unknown, context: TranslateContext): unknown {
  if (error instanceof RedkitError) return error
  const cause = scrubError(error, context.secrets)
  const message = cause.message
  const { command, where } = context
  if (isReplyError(error)) {
    if (AUTH_REPLY.test(message)) {
      return new RedisAuthError(
        `Redis at ${where} refused redkit's credentials or permissions (${command}: ${message}). Check the username, password and ACL rules.`,
        { cause },
      )
    }
    if (DATABASE_REPLY.test(message)) {
      return new RedisDatabaseError(
        `Redis at ${where} cannot select the configured database (${message}). Use an index below the server's 'databases' setting (db 0 on Cluster).`,
        { cause },
      )
    }
    if (message.startsWith('OOM')) {
      return new RedisOutOfMemoryError(
        `Redis at ${where} is out of memory and refused ${command} (${message}). Raise maxmemory or pick an eviction policy.`,
        { cause },
      )
    }
    if (UNAVAILABLE_REPLY.test(message)) {
      return new RedisUnavailableError(`Redis at ${where} cannot serve right now (${command}: ${message}).`, {
        cause,
      })
    }
    return new StoreCommandError(message, { cause })
  }
  if (isTimeout(error)) return new CommandTimeoutError(command, context.timeoutMs, { cause })
  if (isRefusal(error)) {
    return new RedisUnavailableError(
      `Redis at ${where} refused the connection (${(error as { code: string }).code}); check that the server is up and listening there.`,
      { cause },
    )
  }
  return new RedisUnavailableError(
    `Redis at ${where} is unavailable (${command}: ${errorMessage(cause)}). Check that the server is up and reachable.`,
    { cause },
  )
}

const TIMEOUT_NAMES = new Set(['TimeoutError', 'ConnectionTimeoutError', 'SocketTimeoutError'])

function isTimeout(error: unknown): boolean {
  return (
    error instanceof Error && (TIMEOUT_NAMES.has(error.constructor.name) || TIMEOUT_NAMES.has(error.name))
  )
}
