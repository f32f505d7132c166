import session from 'express-session'
import { describe, expectTypeOf, it } from 'vitest'
import {
  createRedkit,
  type RevocationList,
  type SessionData,
  type SessionInfo,
  type SessionStore,
  type SessionStoreOptions,
  type TokenClaims,
} from '../../src/index.js'

declare module 'express-session' {
  interface SessionData {
    userId?: string
  }
}

describe('session store types', () => {
  const kit = createRedkit()

  it('kit.sessions() is a store express-session accepts', () => {
    const store = kit.sessions({ secret: 'x'.repeat(32) })
    expectTypeOf(store).toEqualTypeOf<SessionStore>()
    session({ secret: 'cookie', store })
    expectTypeOf(store).toExtend<session.Store>()
  })

  it('options are typed', () => {
    kit.sessions({ ttl: '1d', disableTouch: true, prefix: 'admin', scanCount: 500 })
    kit.sessions({ ttl: (s) => (s.remember ? 30 * 86_400_000 : 3_600_000) })
    kit.sessions({ userIdOf: (s) => (s.passport as { user?: string } | undefined)?.user })
    kit.sessions({ hashIds: false, encryption: { keys: [Buffer.alloc(32)] }, unavailable: 'skip' })
    // @ts-expect-error ttl is a duration or a function
    kit.sessions({ ttl: true })
    // @ts-expect-error unavailable is 'error' or 'skip'
    kit.sessions({ unavailable: 'ignore' })
    expectTypeOf<SessionStoreOptions['secret']>().toEqualTypeOf<string | Buffer | undefined>()
  })

  it('methods return promises without a callback, nothing with one', () => {
    const store = kit.sessions()
    expectTypeOf(store.get('sid')).toEqualTypeOf<Promise<SessionData | null>>()
    expectTypeOf(store.get('sid', () => {})).toEqualTypeOf<void>()
    expectTypeOf(store.set('sid', { cookie: {}, userId: 'u' })).toEqualTypeOf<Promise<void>>()
    expectTypeOf(store.length()).toEqualTypeOf<Promise<number>>()
    expectTypeOf(store.ids()).toEqualTypeOf<Promise<string[]>>()
    expectTypeOf(store.all()).toEqualTypeOf<Promise<(SessionData & { id: string })[]>>()
    expectTypeOf(store.listByUserId(42, { current: 'sid' })).toEqualTypeOf<Promise<SessionInfo[]>>()
    expectTypeOf(store.destroyByUserId('u', { except: 'sid' })).toEqualTypeOf<Promise<number>>()
    expectTypeOf(store.destroyListed('u', 'id')).toEqualTypeOf<Promise<boolean>>()
    expectTypeOf<SessionInfo['expiresAt']>().toEqualTypeOf<Date | null>()
  })
})

describe('revocation types', () => {
  const kit = createRedkit()

  it('kit.revocations() checks claims', () => {
    const revocations = kit.revocations({ onUnavailable: 'allow', cache: { ttl: '30s' } })
    expectTypeOf(revocations).toEqualTypeOf<RevocationList>()
    expectTypeOf(revocations.revoke('jti', 1_700_000_000)).toEqualTypeOf<Promise<boolean>>()
    expectTypeOf(revocations.revokeUser(42)).toEqualTypeOf<Promise<Date>>()
    expectTypeOf(revocations.isRevoked).parameter(0).toEqualTypeOf<TokenClaims>()
    revocations.isRevoked({ jti: 'a', sub: 'u', iat: 1, exp: 2, scope: 'x' })
    // @ts-expect-error iat is seconds as a number
    revocations.isRevoked({ iat: '1' })
    // @ts-expect-error onUnavailable is 'deny' or 'allow'
    kit.revocations({ onUnavailable: 'open' })
  })
})
