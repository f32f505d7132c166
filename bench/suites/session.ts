// Suite `session`: what express-session does per request (get the session, save it back) through
// kit.sessions(), against connect-redis 9 (node-redis 5) and 7.1 (ioredis 5), and by hand on each client.

import { randomBytes } from 'node:crypto'
import { createClient as createNodeRedis, type RedisClientType } from '@redis/client'
import { Redis } from 'ioredis'
import { importPeer } from '../peer-libraries.js'
import { createRedkit } from '../redkit.js'
import type { BenchSuite } from './suite.js'

/** Sessions in the pool; each request picks the next one, as many users would. */
const POOL = 1000

/** The callback contract of an express-session store, all three sides share it. */
interface CallbackStore {
  get(sid: string, callback: (error: unknown, session?: unknown) => void): void
  set(sid: string, session: object, callback: (error?: unknown) => void): void
  clear(callback: (error?: unknown) => void): void
}

interface NodeRedisClient {
  connect(): Promise<unknown>
  quit(): Promise<unknown>
}

/** A session as an app keeps it after login: the cookie, the user and a little state. */
function sessionData(index: number, expires: string): Record<string, unknown> {
  return {
    cookie: {
      originalMaxAge: 86_400_000,
      expires,
      secure: false,
      httpOnly: true,
      path: '/',
      sameSite: 'lax',
    },
    userId: `user-${index % 250}`,
    roles: ['customer'],
    cart: { items: index % 5, currency: 'EUR' },
    views: 0,
  }
}

function promisify(store: CallbackStore) {
  return {
    get: (sid: string) =>
      new Promise<unknown>((resolve, reject) => store.get(sid, (e, s) => (e ? reject(e) : resolve(s)))),
    set: (sid: string, session: object) =>
      new Promise<void>((resolve, reject) => store.set(sid, session, (e) => (e ? reject(e) : resolve()))),
    clear: () => new Promise<void>((resolve, reject) => store.clear((e) => (e ? reject(e) : resolve()))),
  }
}

/**
 * One request as express-session handles it (`resave: false`, the handler changed the session): read
 * it, change it, save it. The next loop picks the next session id of the pool.
 */
function requestLoop(store: ReturnType<typeof promisify>, ids: readonly string[]): () => Promise<void> {
  let next = 0
  return async () => {
    const sid = ids[next++ % ids.length]!
    const session = (await store.get(sid)) as Record<string, number> | null
    if (!session) throw new Error('bench: a session of the pool is missing')
    session.views = (session.views ?? 0) + 1
    await store.set(sid, session)
  }
}

/** A session as the raw loops read it back. */
interface StoredSession {
  views: number
  cookie: { expires: string }
}

/** Parses a stored session and counts the view, as the request handler would. */
function touch(text: string | null): StoredSession {
  if (text === null) throw new Error('bench: a session of the pool is missing')
  const session = JSON.parse(text) as StoredSession
  session.views++
  return session
}

/**
 * The floor of redkit's client: the same request on node-redis alone (the client redkit runs on; it
 * pipelines what is queued before its next write by itself): GET, JSON, SET with the cookie's TTL and XX.
 * No hashed ids, no index, no batching.
 */
function rawNodeRedisLoop(
  client: RedisClientType,
  prefix: string,
  ids: readonly string[],
): () => Promise<void> {
  let next = 0
  return async () => {
    const key = prefix + ids[next++ % ids.length]!
    const session = touch(await client.get(key))
    await client.set(key, JSON.stringify(session), {
      expiration: { type: 'PX', value: Date.parse(session.cookie.expires) - Date.now() },
      condition: 'XX',
    })
  }
}

/** The same request on auto-pipelined ioredis alone. */
function rawIoredisLoop(client: Redis, prefix: string, ids: readonly string[]): () => Promise<void> {
  let next = 0
  return async () => {
    const key = prefix + ids[next++ % ids.length]!
    const session = touch(await client.get(key))
    await client.set(
      key,
      JSON.stringify(session),
      'PX',
      Date.parse(session.cookie.expires) - Date.now(),
      'XX',
    )
  }
}

export const sessionSuite: BenchSuite = {
  name: 'session',
  description:
    'express-session get+set per request, c=100: kit.sessions() vs connect-redis 9, 7.1 and by hand',
  async setup({ url, keyPrefix }) {
    const [{ RedisStore: ConnectRedis9 }, { default: ConnectRedis7 }, { createClient }, { Redis: Ioredis5 }] =
      await Promise.all([
        importPeer<{ RedisStore: new (options: object) => CallbackStore }>('connect-redis-9'),
        importPeer<{ default: new (options: object) => CallbackStore }>('connect-redis-7'),
        importPeer<{ createClient(options: object): NodeRedisClient }>('redis'),
        importPeer<{ Redis: new (url: string, options: object) => { quit(): Promise<unknown> } }>('ioredis'),
      ])

    // An empty environment: every side connects with the url alone.
    const kit = createRedkit({ url, prefix: `${keyPrefix}redkit:`, environment: {} })
    const cr9Client = createClient({ url })
    const ioredis5 = new Ioredis5(url, { enableAutoPipelining: true })
    const rawNodeRedis: RedisClientType = createNodeRedis({ url })
    const raw = new Redis(url, { enableAutoPipelining: true })
    const rawPrefix = `${keyPrefix}raw:`
    const sides = {
      redkit: promisify(kit.sessions({ secret: randomBytes(32) }) as unknown as CallbackStore),
      cr9: promisify(new ConnectRedis9({ client: cr9Client, prefix: `${keyPrefix}cr9:` })),
      cr7: promisify(new ConnectRedis7({ client: ioredis5, prefix: `${keyPrefix}cr7:` })),
    }
    const close = async (): Promise<void> => {
      await kit.close()
      await cr9Client.quit().catch(() => {})
      await ioredis5.quit().catch(() => {})
      if (rawNodeRedis.isOpen) await rawNodeRedis.close()
      await raw.quit().catch(() => {})
    }

    const expires = new Date(Date.now() + 86_400_000).toISOString()
    const ids = Array.from({ length: POOL }, () => randomBytes(24).toString('base64url'))
    try {
      await Promise.all([cr9Client.connect(), rawNodeRedis.connect()])
      for (const side of Object.values(sides)) {
        await Promise.all(ids.map((sid, i) => side.set(sid, sessionData(i, expires))))
        // A side that cannot read back what it wrote would bench the wrong thing: fail loudly.
        if ((await side.get(ids[7]!)) === null) throw new Error('bench: setup could not read a session back')
      }
      await Promise.all(
        ids.map((sid, i) =>
          raw.set(rawPrefix + sid, JSON.stringify(sessionData(i, expires)), 'PX', 86_400_000),
        ),
      )
    } catch (error) {
      await close()
      throw error
    }

    const connectRedis9 = { name: 'connect-redis 9', operation: requestLoop(sides.cr9, ids) }
    const byHandOnNodeRedis = rawNodeRedisLoop(rawNodeRedis, rawPrefix, ids)
    return {
      cases: [
        {
          name: 'get+set c=100',
          concurrency: 100,
          subject: requestLoop(sides.redkit, ids),
          baselines: [
            { ...connectRedis9, target: 1.2 },
            { name: 'connect-redis 7.1', operation: requestLoop(sides.cr7, ids), target: 1 },
            // The client's floor: the same request by hand, without the index and the hashed ids.
            { name: 'raw node-redis get+set', operation: byHandOnNodeRedis },
          ],
        },
        // Not redkit: what each client library alone reaches against connect-redis 9 (node-redis 5).
        {
          name: 'raw node-redis get+set c=100',
          concurrency: 100,
          subject: byHandOnNodeRedis,
          baselines: [connectRedis9],
        },
        {
          name: 'raw ioredis get+set c=100',
          concurrency: 100,
          subject: rawIoredisLoop(raw, rawPrefix, ids),
          baselines: [connectRedis9],
        },
      ],
      async teardown() {
        try {
          await Promise.all(Object.values(sides).map((side) => side.clear()))
          await raw.del(ids.map((sid) => rawPrefix + sid))
        } finally {
          await close()
        }
      },
    }
  },
}
