// JWT revocation: single tokens by jti until their own expiry, and every token of a user issued before a
// cut-off. Checks cost one round trip, or none from an in-process cache that the bus keeps fresh.

import { LRUCache } from 'lru-cache'
import type { Bus } from '../bus/bus.js'
import { errorMessage, InvalidOptionsError, RedisUnavailableError } from '../errors.js'
import type { FeatureContext } from '../feature-context.js'
import type { KeyBuilder } from '../keys/key-builder.js'
import type { Logger } from '../logger.js'
import { ThrottledWarning } from '../logging/throttled-warning.js'
import type { Store } from '../store/store.js'
import raiseCutoffLua from './raise-cutoff.lua'
import {
  type ResolvedRevocationOptions,
  type RevocationListOptions,
  resolveRevocationOptions,
} from './revocation-options.js'

/** The claims `isRevoked` reads; pass the verified JWT payload as it is. */
export interface TokenClaims {
  /** Token id. */
  jti?: string
  /** Subject: the user id. */
  sub?: string | number
  /** Issued at, in seconds since the epoch (JWT NumericDate). */
  iat?: number
  [claim: string]: unknown
}

/** A point in time: a Date, or seconds since the epoch as in JWT `exp`/`iat` claims. */
export type TokenTime = Date | number

type RevocationMessage =
  | { kind: 'jti'; jti: string; expiresAt: number }
  | { kind: 'user'; userId: string; cutoff: number }

const RAISE_CUTOFF = 'revocation.raiseCutoff'
const REVOKED = '1'

/**
 * A revocation list shared by every instance of the app.
 *
 * - `revoke(jti, exp)`: that token is refused until its own expiry; the key then expires with it.
 * - `revokeUser(userId)`: every token of the user issued before now (whole seconds, as `iat` has) is
 *   refused: password change, "log out everywhere".
 * - `isRevoked(claims)`: one round trip; with the cache, none for a token seen recently. The cache
 *   learns each revocation over the bus and is flushed when the bus reconnects (messages may have been lost).
 * - Redis down and nothing cached: `onUnavailable` decides (`'deny'` by default).
 *
 * @example
 * const revocations = kit.revocations()
 * await revocations.revoke(payload.jti, payload.exp)   // logout
 * await revocations.revokeUser(user.id)                // password change
 * if (await revocations.isRevoked(payload)) throw new Unauthorized()
 */
export class RevocationList {
  readonly #store: Store
  readonly #bus: Bus
  readonly #keys: KeyBuilder
  readonly #logger: Logger
  readonly #options: ResolvedRevocationOptions
  readonly #channel: string
  readonly #cache: LRUCache<string, number> | undefined
  /** Bumped by every bus message and flush, so a read that raced one does not cache a stale answer. */
  #epoch = 0
  /** Counters for `kit.metrics().revocations[name]`. */
  readonly #counts = { checks: 0, cacheHits: 0, revoked: 0, decidedWithoutRedis: 0 }
  /** During an outage every check fails: logged once a second at most, with how many were left out. */
  readonly #unavailable: ThrottledWarning
  #listening = false
  #subscribed: Promise<unknown> = Promise.resolve()

  /** @internal use `kit.revocations()` */
  constructor(context: FeatureContext, options: RevocationListOptions = {}) {
    this.#options = resolveRevocationOptions(options)
    this.#store = context.store
    this.#bus = context.bus
    this.#logger = context.logger
    this.#unavailable = new ThrottledWarning(context.logger, 'redkit: revocation check without Redis')
    this.#keys = context.keys.scope(this.#options.name)
    this.#channel = `revocations:${this.#options.name}`
    this.#store.defineScript({
      name: RAISE_CUTOFF,
      lua: raiseCutoffLua,
      memory: (store, [key], [wanted, ttl]) => {
        const current = Number(store.get(key!) ?? '0') || 0
        if (Number(wanted) > current) {
          store.set(key!, wanted!, { ttlMs: Number(ttl) })
          return wanted!
        }
        store.pexpire(key!, Number(ttl))
        return String(current)
      },
    })
    context.onClose(context.registerMetrics('revocations', this.#options.name, () => ({ ...this.#counts })))
    const cache = this.#options.cache
    if (cache) {
      this.#cache = new LRUCache({ max: cache.max, ttl: cache.ttlMs })
      this.#listen(context)
    }
  }

  /**
   * Resolves once the in-process cache listens to the bus (at once without a cache). Optional: until
   * then checks go to Redis.
   */
  async ready(): Promise<void> {
    await this.#subscribed
  }

  /**
   * Revokes one token until its expiry.
   * @param expiresAt the token's `exp` (seconds) or a Date; a token already expired needs nothing
   * @returns false when the token had already expired
   */
  async revoke(jti: string, expiresAt: TokenTime): Promise<boolean> {
    if (typeof jti !== 'string' || jti === '')
      throw new InvalidOptionsError('revoke: jti must be a non-empty string.')
    const expiresAtMs = toMs(expiresAt, 'expiresAt')
    const ttlMs = expiresAtMs - Date.now()
    if (ttlMs <= 0) return false
    await this.#store.set(this.#jtiKey(jti), REVOKED, { ttlMs })
    const message: RevocationMessage = { kind: 'jti', jti, expiresAt: expiresAtMs }
    this.#apply(message)
    await this.#announce(message)
    return true
  }

  /**
   * Revokes every token of a user issued before `at` (whole seconds: a token whose `iat` is in the
   * same second as `at` stays valid, so a token issued right after this call works).
   * @param at @default now
   * @returns the cut-off in force (a later one set meanwhile wins)
   */
  async revokeUser(userId: string | number, at: TokenTime = new Date()): Promise<Date> {
    const user = userKey(userId)
    const cutoff = Math.floor(toMs(at, 'at') / 1000)
    const reply = await this.#store.runScript(
      RAISE_CUTOFF,
      [this.#userKey(user)],
      [cutoff, this.#options.maxTokenLifetimeMs],
    )
    const inForce = Number(reply)
    this.#apply({ kind: 'user', userId: user, cutoff: inForce })
    await this.#announce({ kind: 'user', userId: user, cutoff: inForce })
    return new Date(inForce * 1000)
  }

  /**
   * Whether a token is revoked: its `jti` was revoked, or its `sub` has a cut-off after its `iat`
   * (a token without `iat` counts as issued before any cut-off).
   */
  async isRevoked(claims: TokenClaims): Promise<boolean> {
    this.#counts.checks++
    const revoked = await this.#check(claims)
    if (revoked) this.#counts.revoked++
    return revoked
  }

  async #check(claims: TokenClaims): Promise<boolean> {
    const jti = typeof claims.jti === 'string' && claims.jti !== '' ? claims.jti : undefined
    const sub = claims.sub
    const user = (typeof sub === 'string' && sub !== '') || typeof sub === 'number' ? String(sub) : undefined
    const cache = this.#listening ? this.#cache : undefined
    let jtiRevoked = jti === undefined ? 0 : cache?.get(`j:${jti}`)
    let cutoff = user === undefined ? 0 : cache?.get(`u:${user}`)
    if (jtiRevoked !== undefined && cutoff !== undefined) this.#counts.cacheHits++
    else {
      const epoch = this.#epoch
      const keys = [
        jti === undefined ? undefined : this.#jtiKey(jti),
        user === undefined ? undefined : this.#userKey(user),
      ]
      let values: (string | null)[]
      try {
        values = await this.#store.mget(keys.filter((key) => key !== undefined))
      } catch (error) {
        if (!(error instanceof RedisUnavailableError)) throw error
        this.#counts.decidedWithoutRedis++
        this.#unavailable.warn({
          revocations: this.#options.name,
          error: error.message,
          policy: this.#options.onUnavailable,
        })
        return this.#options.onUnavailable === 'deny'
      }
      if (jti !== undefined) jtiRevoked = values.shift() === REVOKED ? 1 : 0
      if (user !== undefined) cutoff = Number(values.shift() ?? 0) || 0
      if (cache && epoch === this.#epoch) {
        if (jti !== undefined) cache.set(`j:${jti}`, jtiRevoked!)
        if (user !== undefined) cache.set(`u:${user}`, cutoff!)
      }
    }
    if (jtiRevoked === 1) return true
    if (!cutoff) return false
    return typeof claims.iat !== 'number' || claims.iat < cutoff
  }

  #jtiKey(jti: string): string {
    return this.#keys.build('jti', jti)
  }

  #userKey(user: string): string {
    return this.#keys.build('user', user)
  }

  #apply(message: RevocationMessage): void {
    this.#epoch++
    if (!this.#cache) return
    if (message.kind === 'jti') {
      // Past its expiry the token is refused anyway, and the answer must match Redis, where the key is gone.
      const left = message.expiresAt - Date.now()
      if (left > 0)
        this.#cache.set(`j:${message.jti}`, 1, { ttl: Math.min(left, this.#options.cache!.ttlMs) })
    } else
      this.#cache.set(
        `u:${message.userId}`,
        Math.max(this.#cache.get(`u:${message.userId}`) ?? 0, message.cutoff),
      )
  }

  async #announce(message: RevocationMessage): Promise<void> {
    // Published even without a local cache: other instances may keep one.
    try {
      await this.#bus.publish(this.#channel, message)
    } catch (error) {
      // Stored already; other instances' caches catch up within their cache TTL.
      this.#logger.warn({ error: errorMessage(error) }, 'redkit: could not announce a revocation on the bus')
    }
  }

  #listen(context: FeatureContext): void {
    const offReconnect = this.#bus.onReconnect(() => {
      this.#epoch++
      this.#cache?.clear()
    })
    const subscribed = this.#bus
      .subscribe<RevocationMessage>(this.#channel, (message) => {
        if (
          message?.kind === 'jti' &&
          typeof message.jti === 'string' &&
          Number.isFinite(message.expiresAt)
        ) {
          this.#apply(message)
        } else if (
          message?.kind === 'user' &&
          typeof message.userId === 'string' &&
          Number.isFinite(message.cutoff)
        ) {
          this.#apply(message)
        }
      })
      .then(
        (unsubscribe) => {
          this.#listening = true
          return unsubscribe
        },
        (error: unknown) => {
          // Without the bus a cached answer could go stale: check Redis every time instead.
          this.#logger.warn(
            { error: errorMessage(error) },
            'redkit: revocation cache off, the bus subscription failed',
          )
          return undefined
        },
      )
    this.#subscribed = subscribed
    context.onClose(async () => {
      offReconnect()
      this.#listening = false
      const unsubscribe = await subscribed
      await unsubscribe?.().catch(() => {})
    })
  }
}

function toMs(time: TokenTime, name: string): number {
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time * 1000 : Number.NaN
  if (!Number.isFinite(ms)) {
    throw new InvalidOptionsError(`${name} must be a Date or seconds since the epoch (a JWT NumericDate).`)
  }
  return ms
}

function userKey(userId: string | number): string {
  if ((typeof userId !== 'string' && typeof userId !== 'number') || userId === '') {
    throw new InvalidOptionsError('A user id must be a non-empty string or a number.')
  }
  return String(userId)
}
