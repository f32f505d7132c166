// The options kit.revocations() takes, resolved and checked once at construction so that a bad option
// fails when the app starts, not on the first token check.

import { type Duration, parseDuration } from '../config/duration.js'
import { checkName, checkOneOf, checkOptionKeys, describeValue } from '../config/validate.js'
import { InvalidOptionsError } from '../errors.js'

/** Options of `kit.revocations()`. */
export interface RevocationListOptions {
  /**
   * Key scope and bus channel of this list; two lists on one kit need two names.
   * @default 'revoked'
   * @example kit.revocations({ name: 'api-tokens' })
   */
  name?: string
  /**
   * The longest lifetime of a token you issue. A user cut-off (`revokeUser`) is kept this long after
   * it was last raised: by then every token issued before it has expired.
   * @default '30d'
   * @example kit.revocations({ maxTokenLifetime: '1h' })
   */
  maxTokenLifetime?: Duration
  /**
   * What `isRevoked` answers when Redis cannot be asked and nothing is cached: `'deny'` treats the
   * token as revoked (safe default), `'allow'` lets it through (availability over safety).
   * @default 'deny'
   * @example kit.revocations({ onUnavailable: 'allow' })
   */
  onUnavailable?: 'deny' | 'allow'
  /**
   * In-process cache of answers, kept fresh by the bus (every instance hears each revocation) and
   * flushed when the bus reconnects. `false` sends every check to Redis (one round trip).
   * @default { max: 10000, ttl: '1m' }
   * @example kit.revocations({ cache: { max: 50_000, ttl: '5m' } })
   */
  cache?: false | { max?: number; ttl?: Duration }
}

/** @internal */
export interface ResolvedRevocationOptions {
  name: string
  maxTokenLifetimeMs: number
  onUnavailable: 'deny' | 'allow'
  cache: { max: number; ttlMs: number } | undefined
}

const KNOWN = new Set(['name', 'maxTokenLifetime', 'onUnavailable', 'cache'])
const CACHE_KNOWN = new Set(['max', 'ttl'])
const POLICIES = ['deny', 'allow'] as const

/** @throws InvalidOptionsError */
export function resolveRevocationOptions(options: RevocationListOptions): ResolvedRevocationOptions {
  checkOptionKeys(options, KNOWN, 'revocations')
  const name = options.name ?? 'revoked'
  checkName(name, 'revocations: name')
  const maxTokenLifetimeMs = parseDuration(options.maxTokenLifetime ?? '30d', 'revocations: maxTokenLifetime')
  if (maxTokenLifetimeMs === 0)
    throw new InvalidOptionsError('revocations: maxTokenLifetime must be greater than 0.')
  const onUnavailable = checkOneOf(options.onUnavailable ?? 'deny', POLICIES, 'revocations', 'onUnavailable')
  let cache: ResolvedRevocationOptions['cache']
  if (options.cache !== false) {
    if (options.cache !== undefined) {
      if (typeof options.cache !== 'object' || options.cache === null || Array.isArray(options.cache)) {
        throw new InvalidOptionsError(
          `revocations: cache must be false or an object such as { max: 10000, ttl: '1m' }, got ${describeValue(options.cache)}.`,
        )
      }
      checkOptionKeys(options.cache, CACHE_KNOWN, 'revocations', { path: 'cache' })
    }
    const max = options.cache?.max ?? 10_000
    if (!Number.isInteger(max) || max < 1) {
      throw new InvalidOptionsError(`revocations: cache.max must be a positive integer, got ${max}.`)
    }
    const ttlMs = parseDuration(options.cache?.ttl ?? '1m', 'revocations: cache.ttl')
    if (ttlMs === 0)
      throw new InvalidOptionsError('revocations: cache.ttl must be greater than 0 (or set cache: false).')
    cache = { max, ttlMs }
  }
  return { name, maxTokenLifetimeMs, onUnavailable, cache }
}
