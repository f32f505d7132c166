// The switch from connect-redis 9 as docs/migrating/connect-redis.md describes it, over real HTTP on a
// real redis-server: a user logged in under connect-redis stays logged in after the app moves to
// redkit's store, the session keeps its data and expiry, and the per-user index picks it up.

import { RedisStore } from 'connect-redis'
import express, { type Request, type Response } from 'express'
import session, { type Store } from 'express-session'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit, type SessionStore } from '../../src/index.js'
import { listenOn, type RedisServer, startRedis, stopAllServers } from '../harness/index.js'

declare module 'express-session' {
  interface SessionData {
    userId?: string
    views?: number
  }
}

const COOKIE_SECRET = 'cookie-secret-shared-by-both-deployments'
const HOUR_MS = 3_600_000

/** The same app before and after the switch: only the store differs. */
function shop(store: Store) {
  const app = express()
  app.use(
    session({
      secret: COOKIE_SECRET,
      resave: false,
      saveUninitialized: false,
      store,
      cookie: { maxAge: HOUR_MS },
    }),
  )
  app.post('/login/:user', (req: Request, res: Response) => {
    req.session.userId = String(req.params.user)
    req.session.views = 1
    res.json({ userId: req.session.userId })
  })
  app.get('/me', (req: Request, res: Response) => {
    if (!req.session.userId) return void res.status(401).json({ error: 'log in' })
    req.session.views = (req.session.views ?? 0) + 1
    res.json({ userId: req.session.userId, views: req.session.views })
  })
  return app
}

/** A browser: keeps the `connect.sid` cookie. */
class Browser {
  cookie = ''
  async call(base: string, method: string, path: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(base + path, { method, headers: this.cookie ? { cookie: this.cookie } : {} })
    for (const line of response.headers.getSetCookie()) {
      if (line.startsWith('connect.sid=')) this.cookie = line.split(';')[0]!
    }
    return { status: response.status, body: await response.json() }
  }

  get sessionId(): string {
    const value = decodeURIComponent(this.cookie.slice('connect.sid='.length))
    return value.slice(2, value.lastIndexOf('.'))
  }
}

describe('migrating from connect-redis 9', () => {
  let server: RedisServer
  let client: ReturnType<typeof createClient>
  let kit: Redkit
  let store: SessionStore
  let before: string
  let after: string
  const closers: (() => Promise<void>)[] = []

  beforeAll(async () => {
    server = await startRedis()
    // Before: connect-redis 9 on a node-redis client, as its README sets it up.
    client = createClient({ url: server.url })
    await client.connect()
    before = await listenOn(shop(new RedisStore({ client, ttl: 86_400 })), closers)
    // After: redkit's store in connect-redis' layout (`sess:<id>`, no app prefix, ids in clear).
    kit = createRedkit({ url: server.url, prefix: '', environment: {} })
    store = kit.sessions({ hashIds: false, ttl: '1d' })
    after = await listenOn(shop(store as unknown as Store), closers)
  }, 60_000)

  afterAll(async () => {
    for (const close of closers) await close()
    await client?.quit()
    await kit?.close()
    await stopAllServers()
  })

  it('a user logged in under connect-redis stays logged in, with the data and expiry of the session', async () => {
    const alice = new Browser()
    expect((await alice.call(before, 'POST', '/login/alice')).status).toBe(200)
    expect((await alice.call(before, 'GET', '/me')).body).toEqual({ userId: 'alice', views: 2 })

    // Deployed with redkit: the same cookie finds the same session.
    expect((await alice.call(after, 'GET', '/me')).body).toEqual({ userId: 'alice', views: 3 })
    expect((await alice.call(after, 'GET', '/me')).body).toEqual({ userId: 'alice', views: 4 })
    const key = `sess:${alice.sessionId}`
    expect(await client.exists(key)).toBe(1)
    const ttlMs = await client.pTTL(key)
    expect(ttlMs).toBeGreaterThan(HOUR_MS - 60_000)
    expect(ttlMs).toBeLessThanOrEqual(HOUR_MS)
  })

  it('a session redkit has saved is in the per-user index: "log out everywhere" ends it', async () => {
    const bob = new Browser()
    await bob.call(before, 'POST', '/login/bob')
    const untouched = new Browser()
    await untouched.call(before, 'POST', '/login/bob')
    await bob.call(after, 'GET', '/me') // saved by redkit: indexed under bob

    const listed = await store.listByUserId('bob')
    expect(listed.map((entry) => entry.id)).toEqual([bob.sessionId])
    expect(await store.destroyByUserId('bob')).toBe(1)
    expect((await bob.call(after, 'GET', '/me')).status).toBe(401)
    // A session connect-redis wrote and redkit never saved is not indexed yet, but still read.
    expect((await untouched.call(after, 'GET', '/me')).body).toEqual({ userId: 'bob', views: 2 })
    expect(await store.destroyByUserId('bob')).toBe(1)
    expect((await untouched.call(after, 'GET', '/me')).status).toBe(401)
  })

  it('going back is lossy: connect-redis cannot read what redkit wrote', async () => {
    const carol = new Browser()
    await carol.call(before, 'POST', '/login/carol')
    await carol.call(after, 'GET', '/me')
    const back = new RedisStore({ client })
    await expect(back.get(carol.sessionId)).rejects.toThrow(SyntaxError)
  })
})
