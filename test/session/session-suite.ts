// The behaviour every backend must show for kit.sessions(): the embedded store, one redis-server and a
// 6-node Cluster run this same suite. Waits poll with deadlines; nothing sleeps.

import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Logger, Redkit, SessionData, SessionStore, SessionStoreOptions } from '../../src/index.js'
import {
  createRedkit,
  InvalidOptionsError,
  SessionDataError,
  SessionStore as SessionStoreClass,
} from '../../src/index.js'
import { waitFor } from '../harness/wait-for.js'

/** What a run of the suite needs. */
export interface SessionSuiteSetup {
  /** Makes a kit with this logger, on the backend under test; each call may share the same server. */
  kit(logger?: Logger): Redkit
  teardown(): Promise<void>
}

const SECRET = randomBytes(32).toString('base64')

function cookie(maxAgeMs: number): SessionData['cookie'] {
  return {
    originalMaxAge: maxAgeMs,
    expires: new Date(Date.now() + maxAgeMs).toISOString(),
    httpOnly: true,
    path: '/',
  }
}

function sid(): string {
  return randomBytes(24).toString('base64url')
}

async function allKeys(kit: Redkit): Promise<string[]> {
  const keys = new Set<string>()
  for await (const batch of kit.store.scan({ match: kit.keys.pattern() }))
    for (const key of batch) keys.add(key)
  return [...keys]
}

type LogMethod = (fields: Record<string, unknown>, message: string) => void

function spyLogger() {
  return {
    debug: vi.fn<LogMethod>(),
    info: vi.fn<LogMethod>(),
    warn: vi.fn<LogMethod>(),
    error: vi.fn<LogMethod>(),
  }
}

/**
 * The suite's setup on the embedded store. Data lives in the kit in memory mode, so every kit of the run
 * is one instance, whose logger forwards to every logger a test asked for.
 */
export function memorySessionSetup(app: string): () => Promise<SessionSuiteSetup> {
  return async () => {
    const loggers = new Set<Logger>()
    const fanOut = (level: keyof Logger) => (fields: Record<string, unknown>, message: string) => {
      for (const logger of loggers) logger[level](fields, message)
    }
    const logger: Logger = {
      debug: fanOut('debug'),
      info: fanOut('info'),
      warn: fanOut('warn'),
      error: fanOut('error'),
    }
    const kit = createRedkit({ url: 'memory', environment: {}, app, logger })
    return {
      kit: (extra) => {
        if (extra) loggers.add(extra)
        return kit
      },
      teardown: () => kit.close(),
    }
  }
}

/** Runs the session store suite against the backend `setup` creates. */
export function sessionSuite(name: string, setup: () => Promise<SessionSuiteSetup>): void {
  describe(`sessions on ${name}`, () => {
    let backend: SessionSuiteSetup
    let kit: Redkit
    const kits: Redkit[] = []
    // Each test gets its own scope, so tests cannot see each other's sessions.
    const make = (options: SessionStoreOptions = {}, on = kit): SessionStore =>
      on.sessions({ prefix: `t${randomUUID().slice(0, 8)}`, secret: SECRET, ...options })

    beforeAll(async () => {
      backend = await setup()
      kit = backend.kit()
      kits.push(kit)
    })

    afterAll(async () => {
      await Promise.all(kits.map((k) => k.close()))
      await backend?.teardown()
    })

    it('kit.sessions() keeps one store per prefix: the same options give it back, other options throw', async () => {
      const prefix = `one${randomUUID().slice(0, 8)}`
      const listeners = kit.listenerCount('breakerStateChange')
      const first = kit.sessions({ prefix, secret: SECRET, unavailable: 'skip' })
      for (let i = 0; i < 5; i++) {
        expect(kit.sessions({ prefix, secret: SECRET, unavailable: 'skip' })).toBe(first)
      }
      // Naming only the prefix fetches the store whatever it was created with.
      expect(kit.sessions({ prefix })).toBe(first)
      // One breaker listener for the store, not one per call.
      expect(kit.listenerCount('breakerStateChange')).toBe(listeners + 1)
      // Its counters are not reset by later calls: the reads of every caller add up.
      for (let i = 0; i < 3; i++) await kit.sessions({ prefix }).get(sid())
      const counts = kit.metrics().sessions as Record<string, { reads: number }>
      expect(counts[prefix]!.reads).toBe(3)

      expect(() => kit.sessions({ prefix, secret: SECRET, unavailable: 'skip', ttl: '2h' })).toThrow(
        InvalidOptionsError,
      )
      expect(() => kit.sessions({ prefix, secret: SECRET })).toThrow(
        new RegExp(
          `sessions '${prefix}' already exists with other options.*kit\\.sessions\\(\\{ prefix: '${prefix}' \\}\\)`,
        ),
      )
      // A bad option is reported as such, not as a mismatch.
      expect(() => kit.sessions({ prefix, secrett: SECRET } as SessionStoreOptions)).toThrow(/unknown option/)
      // Another prefix is another store.
      expect(kit.sessions({ prefix: `${prefix}b`, secret: SECRET })).not.toBe(first)
    })

    it('saves, reads and destroys a session; a missing one reads as null', async () => {
      const store = make()
      const id = sid()
      expect(await store.get(id)).toBeNull()
      await store.set(id, { cookie: cookie(60_000), userId: 'u1', cart: [1, 2] })
      expect(await store.get(id)).toMatchObject({ userId: 'u1', cart: [1, 2] })
      await store.destroy(id)
      expect(await store.get(id)).toBeNull()
    })

    it('works with callbacks as express-session calls it', async () => {
      const store = make()
      const id = sid()
      await new Promise<void>((resolve, reject) =>
        store.set(id, { cookie: cookie(60_000), n: 1 }, (error) => (error ? reject(error) : resolve())),
      )
      const read = await new Promise<SessionData | null | undefined>((resolve, reject) =>
        store.get(id, (error, session) => (error ? reject(error) : resolve(session))),
      )
      expect(read).toMatchObject({ n: 1 })
      const length = await new Promise<number | undefined>((resolve) => store.length((_, n) => resolve(n)))
      expect(length).toBe(1)
    })

    it('stores no session id in any key or value', async () => {
      const k = backend.kit()
      kits.push(k)
      const store = make({}, k)
      const ids = Array.from({ length: 20 }, sid)
      await Promise.all(ids.map((id, i) => store.set(id, { cookie: cookie(60_000), userId: `u${i % 3}` })))
      await store.destroy(ids[0]!)
      const keys = await allKeys(k)
      expect(keys.length).toBeGreaterThan(0)
      const values = await k.store.mget(keys.filter((key) => !key.includes('.user:')))
      for (const id of ids) {
        for (const key of keys) expect(key).not.toContain(id)
        for (const value of values) expect(value ?? '').not.toContain(id)
      }
    })

    it('takes the TTL from the cookie, else from `ttl`; touch extends it; disableTouch and disableTTL', async () => {
      const store = make({ ttl: '2h' })
      const [a, b] = [sid(), sid()]
      await store.set(a, { cookie: cookie(60_000) })
      await store.set(b, { cookie: { originalMaxAge: null } })
      const key = (id: string) => kit.keys.scope(storePrefix(store)).build(storedIds(store, id))
      const ttlA = await kit.store.pttl(key(a))
      expect(ttlA).toBeGreaterThan(55_000)
      expect(ttlA).toBeLessThanOrEqual(60_000)
      expect(await kit.store.pttl(key(b))).toBeGreaterThan(2 * 3_600_000 - 5000)

      await store.touch(a, { cookie: cookie(600_000) })
      expect(await kit.store.pttl(key(a))).toBeGreaterThan(590_000)

      const noTouch = make({ disableTouch: true })
      await noTouch.set(a, { cookie: cookie(60_000) })
      await noTouch.touch(a, { cookie: cookie(600_000) })
      expect(
        await kit.store.pttl(kit.keys.scope(storePrefix(noTouch)).build(storedIds(noTouch, a))),
      ).toBeLessThanOrEqual(60_000)

      const noTtl = make({ disableTTL: true })
      await noTtl.set(a, { cookie: cookie(60_000) })
      expect(await kit.store.pttl(kit.keys.scope(storePrefix(noTtl)).build(storedIds(noTtl, a)))).toBe(-1)
    })

    it('a cookie already expired destroys the session instead of saving it', async () => {
      const store = make()
      const id = sid()
      await store.set(id, { cookie: cookie(60_000), v: 1 })
      await store.set(id, { cookie: { expires: new Date(Date.now() - 1000).toISOString() }, v: 2 })
      expect(await store.get(id)).toBeNull()
    })

    it('a session loaded before its destroy is never saved or touched back (logout race)', async () => {
      const store = make()
      const id = sid()
      await store.set(id, { cookie: cookie(60_000), userId: 'racer' })
      // What express-session holds during a request: the session object built from stored data.
      const loaded = await new Promise<SessionData>((resolve, reject) =>
        store.load(id, (error, session) => (error || !session ? reject(error) : resolve(session))),
      )
      const other = await new Promise<SessionData>((resolve, reject) =>
        store.load(id, (error, session) => (error || !session ? reject(error) : resolve(session))),
      )
      loaded.late = true
      await store.destroy(id)
      await store.set(id, loaded)
      await store.touch(id, other)
      expect(await store.get(id)).toBeNull()
      expect(await store.listByUserId('racer')).toEqual([])
      expect(await store.length()).toBe(0)
      const counts = (kit.metrics().sessions as Record<string, { savesRefused: number }>)[store.prefix]
      expect(counts?.savesRefused).toBe(1)
      // While it exists, a loaded session saves normally; a new session object is written as is.
      const live = sid()
      await store.set(live, { cookie: cookie(60_000), n: 1 })
      const again = await new Promise<SessionData>((resolve, reject) =>
        store.load(live, (error, session) => (error || !session ? reject(error) : resolve(session))),
      )
      again.n = 2
      await store.set(live, again)
      expect(await store.get(live)).toMatchObject({ n: 2 })
      await store.destroy(live)
      await store.set(live, { cookie: cookie(60_000), n: 3 })
      expect(await store.get(live)).toMatchObject({ n: 3 })
    })

    it('lists a user’s sessions with times and metadata; destroyByUserId with except; other users untouched', async () => {
      const store = make({ metadataOf: (s) => ({ ip: s.ip, userAgent: s.ua }) })
      const devices = [sid(), sid(), sid()]
      const other = sid()
      const before = Date.now()
      await Promise.all(
        devices.map((id, i) =>
          store.set(id, { cookie: cookie(60_000), userId: 42, ip: `10.0.0.${i}`, ua: `ua${i}` }),
        ),
      )
      await store.set(other, { cookie: cookie(60_000), userId: 7 })
      const list = await store.listByUserId(42, { current: devices[1] })
      expect(list).toHaveLength(3)
      expect(list.map((s) => s.metadata?.ip).sort()).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2'])
      expect(list.filter((s) => s.current)).toHaveLength(1)
      expect(list.find((s) => s.current)?.metadata?.userAgent).toBe('ua1')
      for (const info of list) {
        expect(info.createdAt.getTime()).toBeGreaterThanOrEqual(before - 5)
        expect(info.lastActivity.getTime()).toBeGreaterThanOrEqual(info.createdAt.getTime() - 5)
        expect(info.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 50_000)
        expect(info.id).not.toContain(devices[0]!)
      }

      expect(await store.destroyByUserId(42, { except: devices[1] })).toBe(2)
      expect(await store.get(devices[0]!)).toBeNull()
      expect(await store.get(devices[2]!)).toBeNull()
      expect(await store.get(devices[1]!)).toMatchObject({ userId: 42 })
      expect(await store.listByUserId(42)).toHaveLength(1)
      expect(await store.get(other)).toMatchObject({ userId: 7 })

      expect(await store.destroyByUserId(42)).toBe(1)
      expect(await store.get(devices[1]!)).toBeNull()
      expect(await store.listByUserId(42)).toEqual([])
      // Nothing of theirs is left: neither the index nor any session key.
      const index = kit.keys.scope(`${storePrefix(store)}.user`).build('42')
      const keys = devices.map((id) => kit.keys.scope(storePrefix(store)).build(storedIds(store, id)))
      expect(await kit.store.exists([index, ...keys])).toBe(0)
    })

    it('destroyListed ends one listed session of that user only', async () => {
      const store = make()
      const [a, b, c] = [sid(), sid(), sid()]
      await store.set(a, { cookie: cookie(60_000), userId: 'x' })
      await store.set(b, { cookie: cookie(60_000), userId: 'x' })
      await store.set(c, { cookie: cookie(60_000), userId: 'y' })
      const [first] = await store.listByUserId('x', { current: b })
      const target = (await store.listByUserId('x')).find((s) => s.id !== first?.id && !s.current) ?? first!
      const [ofY] = await store.listByUserId('y')
      expect(await store.destroyListed('x', ofY!.id)).toBe(false)
      expect(await store.destroyListed('x', target.id)).toBe(true)
      expect(await store.listByUserId('x')).toHaveLength(1)
      expect(await store.get(c)).not.toBeNull()
    })

    it('prunes index entries of expired sessions, so the index holds only live sessions', async () => {
      const store = make()
      const index = () => kit.keys.scope(`${storePrefix(store)}.user`).build('pruned')
      const short = Array.from({ length: 5 }, sid)
      await Promise.all(short.map((id) => store.set(id, { cookie: cookie(40), userId: 'pruned' })))
      expect(Object.keys(await kit.store.hgetall(index()))).toHaveLength(5)
      await waitFor(
        async () => (await Promise.all(short.map((id) => store.get(id)))).every((s) => s === null),
        {
          message: 'short sessions to expire',
        },
      )
      const live = sid()
      await store.set(live, { cookie: cookie(60_000), userId: 'pruned' })
      expect(Object.keys(await kit.store.hgetall(index()))).toEqual([storedIds(store, live)])
      expect(await store.listByUserId('pruned')).toHaveLength(1)
    })

    it('listByUserId prunes sessions that expired since the last write', async () => {
      const store = make()
      const short = Array.from({ length: 3 }, sid)
      await Promise.all(short.map((id) => store.set(id, { cookie: cookie(30), userId: 'lister' })))
      await waitFor(async () => (await store.listByUserId('lister')).length === 0, {
        message: 'list to empty',
      })
      const index = kit.keys.scope(`${storePrefix(store)}.user`).build('lister')
      expect(await kit.store.exists([index])).toBe(0)
    })

    it('a session saved by another user moves out of the previous user’s index', async () => {
      const store = make()
      const id = sid()
      await store.set(id, { cookie: cookie(60_000), userId: 'first' })
      await store.set(id, { cookie: cookie(60_000), userId: 'second' })
      expect(await store.listByUserId('first')).toEqual([])
      expect(await store.destroyByUserId('first')).toBe(0)
      expect(await store.get(id)).toMatchObject({ userId: 'second' })
    })

    it('encrypts payloads: unreadable without the key, readable after a rotation', async () => {
      const [oldKey, newKey] = [randomBytes(32), randomBytes(32).toString('base64')]
      const prefix = `enc${randomUUID().slice(0, 8)}`
      // Each key list is another deploy of the app, reading what the previous one stored: built directly,
      // since kit.sessions() keeps the first store of a prefix for the life of the kit.
      const deploy = (on: Redkit, keys: (string | Buffer)[]) =>
        new SessionStoreClass(on.context, { prefix, secret: SECRET, encryption: { keys } }, on)
      const v1 = deploy(kit, [oldKey])
      const id = sid()
      await v1.set(id, { cookie: cookie(60_000), secretNote: 'plaintext-marker-123' })
      const key = kit.keys.scope(prefix).build(storedIds(v1, id))
      const raw = await kit.store.get(key)
      expect(raw).toMatch(/^rk1e:/)
      expect(raw).not.toContain('plaintext-marker-123')

      const logger = spyLogger()
      const other = backend.kit(logger)
      kits.push(other)
      const stranger = deploy(other, [randomBytes(32)])
      await expect(stranger.get(id)).rejects.toBeInstanceOf(SessionDataError)
      expect(logger.warn).toHaveBeenCalled()

      const v2 = deploy(kit, [newKey, oldKey])
      expect(await v2.get(id)).toMatchObject({ secretNote: 'plaintext-marker-123' })
      await v2.set(id, { cookie: cookie(60_000), secretNote: 'rewritten' })
      const v3 = deploy(kit, [newKey])
      expect(await v3.get(id)).toMatchObject({ secretNote: 'rewritten' })
      // A ciphertext moved under another session's key does not open: the stored id is authenticated.
      const id2 = sid()
      await kit.store.set(kit.keys.scope(prefix).build(storedIds(v3, id2)), (await kit.store.get(key))!)
      await expect(v3.get(id2)).rejects.toBeInstanceOf(SessionDataError)
    })

    it('corrupt data is an error for that id only, logged, never a crash', async () => {
      const logger = spyLogger()
      const k = backend.kit(logger)
      kits.push(k)
      const prefix = `bad${randomUUID().slice(0, 8)}`
      const store = k.sessions({ prefix, secret: SECRET })
      const [bad, good] = [sid(), sid()]
      await store.set(good, { cookie: cookie(60_000), ok: true })
      await k.store.set(k.keys.scope(prefix).build(storedIds(store, bad)), 'rk1:not a header\n{')
      const error = await new Promise<unknown>((resolve) => store.get(bad, (e) => resolve(e)))
      expect(error).toBeInstanceOf(SessionDataError)
      expect(logger.warn).toHaveBeenCalledWith(
        expect.objectContaining({ session: expect.any(String) }),
        expect.any(String),
      )
      expect(JSON.stringify(logger.warn.mock.calls)).not.toContain(bad)
      expect(await store.get(good)).toMatchObject({ ok: true })
      expect(await store.all()).toHaveLength(1)
    })

    it('hashIds: false keeps the connect-redis layout and reads its plain JSON sessions', async () => {
      const prefix = `legacy${randomUUID().slice(0, 8)}`
      const store = kit.sessions({ prefix, hashIds: false })
      const id = sid()
      await kit.store.set(
        kit.keys.scope(prefix).build(id),
        JSON.stringify({ cookie: cookie(60_000), userId: 'old' }),
      )
      expect(await store.get(id)).toMatchObject({ userId: 'old' })
      await store.set(id, { cookie: cookie(60_000), userId: 'old', n: 2 })
      expect(await store.ids()).toEqual([id])
      // The connect-redis layout: the key is the prefix and the session id, nothing else.
      expect(await kit.store.exists([`${kit.prefix}${prefix}:${id}`])).toBe(1)
      expect((await store.all())[0]).toMatchObject({ id, n: 2 })
    })

    it('uses a custom serializer', async () => {
      const serializer = {
        stringify: (data: SessionData) => Buffer.from(JSON.stringify(data)).toString('hex'),
        parse: (text: string) => JSON.parse(Buffer.from(text, 'hex').toString()) as SessionData,
      }
      const store = make({ serializer })
      const id = sid()
      await store.set(id, { cookie: cookie(60_000), when: 'now' })
      expect(await store.get(id)).toMatchObject({ when: 'now' })
      const raw = await kit.store.get(kit.keys.scope(store.prefix).build(store.storedId(id)))
      expect(raw).toContain(Buffer.from('"when"').toString('hex'))
    })

    it('length, ids, all and clear see this store’s live sessions only', async () => {
      const store = make()
      const neighbour = make()
      const ids = Array.from({ length: 30 }, sid)
      await Promise.all(ids.map((id, i) => store.set(id, { cookie: cookie(60_000), i, userId: `u${i % 4}` })))
      await neighbour.set(sid(), { cookie: cookie(60_000) })
      await store.destroy(ids[0]!)
      expect(await store.length()).toBe(29)
      expect(await store.ids()).toHaveLength(29)
      expect((await store.all()).map((s) => s.i).sort((a, b) => Number(a) - Number(b))).toEqual(
        Array.from({ length: 29 }, (_, i) => i + 1),
      )
      await store.clear()
      expect(await store.length()).toBe(0)
      expect(await store.listByUserId('u1')).toEqual([])
      expect(await neighbour.length()).toBe(1)
    })

    it('all(), length() and clear() over 10,000 sessions', async () => {
      const store = make()
      const count = 10_000
      const ids = Array.from({ length: count }, sid)
      for (let i = 0; i < count; i += 500) {
        await Promise.all(
          ids.slice(i, i + 500).map((id, j) => store.set(id, { cookie: cookie(600_000), n: i + j })),
        )
      }
      expect(await store.length()).toBe(count)
      const all = await store.all()
      expect(all).toHaveLength(count)
      expect(new Set(all.map((s) => s.n)).size).toBe(count)
      expect(new Set(await store.ids()).size).toBe(count)
      await store.clear()
      expect(await store.length()).toBe(0)
    }, 120_000)
  })
}

function storePrefix(store: SessionStore): string {
  return store.prefix
}

function storedIds(store: SessionStore, id: string): string {
  return store.storedId(id)
}
