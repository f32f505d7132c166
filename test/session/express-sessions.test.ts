// Real Express 5 + express-session over HTTP on a real redis-server: per-user logout from several
// clients, the logout race with a slow request in flight, and Redis going away mid-run.

import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import session from 'express-session'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, RedisUnavailableError, type Redkit, type SessionStore } from '../../src/index.js'
import { type RedisServer, startRedis, waitFor } from '../harness/index.js'

declare module 'express-session' {
  interface SessionData {
    userId?: string
    ip?: string
    userAgent?: string
    counter?: number
  }
}

/** A browser-like client: keeps the session cookie between requests. */
class Client {
  cookie: string | undefined
  constructor(
    readonly base: string,
    readonly userAgent: string,
  ) {}

  async request(method: string, path: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(this.base + path, {
      method,
      headers: { 'user-agent': this.userAgent, ...(this.cookie ? { cookie: this.cookie } : {}) },
    })
    for (const line of response.headers.getSetCookie()) {
      if (line.startsWith('sid=')) this.cookie = line.split(';')[0]
    }
    const text = await response.text()
    return {
      status: response.status,
      body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text,
    }
  }

  get sessionId(): string {
    // The cookie is `sid=s:<id>.<signature>`, URL-encoded.
    const value = decodeURIComponent(this.cookie!.slice('sid='.length))
    return value.slice(2, value.lastIndexOf('.'))
  }
}

/** Lets a test hold a request inside its handler until it says so. */
class Gate {
  entered!: Promise<void>
  #enter!: () => void
  #release!: () => void
  released!: Promise<void>
  constructor() {
    this.reset()
  }
  reset(): void {
    this.entered = new Promise((resolve) => (this.#enter = resolve))
    this.released = new Promise((resolve) => (this.#release = resolve))
  }
  enter(): void {
    this.#enter()
  }
  release(): void {
    this.#release()
  }
}

interface App {
  base: string
  store: SessionStore
  gate: Gate
  close(): Promise<void>
}

async function startApp(kit: Redkit): Promise<App> {
  const store = kit.sessions({
    secret: randomBytes(32),
    metadataOf: (s) => ({ ip: s.ip, userAgent: s.userAgent }),
  })
  const gate = new Gate()
  const app = express()
  app.use(
    session({
      name: 'sid',
      secret: 'cookie-signing-secret',
      resave: false,
      saveUninitialized: false,
      store,
      cookie: { maxAge: 600_000 },
    }),
  )
  app.post('/login/:user', (req, res, next) => {
    req.session.regenerate((error) => {
      if (error) return next(error)
      req.session.userId = String(req.params.user)
      req.session.ip = req.ip
      req.session.userAgent = req.get('user-agent')
      res.json({ ok: true })
    })
  })
  app.get('/me', (req, res) => {
    res.json({ userId: req.session.userId ?? null })
  })
  app.get('/devices', async (req, res) => {
    res.json(await store.listByUserId(req.session.userId!, { current: req.sessionID }))
  })
  app.post('/logout-everywhere', async (req, res) => {
    const except = req.query.keepThis ? req.sessionID : undefined
    res.json({ ended: await store.destroyByUserId(req.session.userId!, { except }) })
  })
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })))
  })
  app.post('/slow', async (req, res) => {
    gate.enter()
    await gate.released
    req.session.counter = (req.session.counter ?? 0) + 1
    res.json({ counter: req.session.counter })
  })
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: error instanceof RedisUnavailableError ? 'unavailable' : error.name })
  })
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening))
  })
  const { port } = server.address() as AddressInfo
  return {
    base: `http://127.0.0.1:${port}`,
    store,
    gate,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

describe('express-session over HTTP with a real redis-server', () => {
  let server: RedisServer
  let kit: Redkit
  let app: App

  beforeAll(async () => {
    server = await startRedis()
    kit = createRedkit({ url: server.url, app: 'web', environment: {} })
    app = await startApp(kit)
  })

  afterAll(async () => {
    await app?.close()
    await kit?.close()
    await server?.stop()
  })

  it('3 clients of one user: listed with metadata; destroyByUserId logs all out, others stay', async () => {
    const devices = ['phone', 'laptop', 'tablet'].map((ua) => new Client(app.base, ua))
    const bystander = new Client(app.base, 'bystander')
    for (const device of devices) expect((await device.request('POST', '/login/alice')).status).toBe(200)
    await bystander.request('POST', '/login/bob')

    const listed = (await devices[0]!.request('GET', '/devices')).body as {
      id: string
      current: boolean
      metadata: { ip: string; userAgent: string }
    }[]
    expect(listed).toHaveLength(3)
    expect(listed.map((d) => d.metadata.userAgent).sort()).toEqual(['laptop', 'phone', 'tablet'])
    expect(listed.every((d) => d.metadata.ip.includes('127.0.0.1'))).toBe(true)
    expect(listed.find((d) => d.current)?.metadata.userAgent).toBe('phone')

    expect((await devices[0]!.request('POST', '/logout-everywhere')).body).toEqual({ ended: 3 })
    for (const device of devices) expect((await device.request('GET', '/me')).body).toEqual({ userId: null })
    expect((await bystander.request('GET', '/me')).body).toEqual({ userId: 'bob' })

    // Nothing of alice is left: no index, no session key.
    const keys: string[] = []
    for await (const batch of kit.store.scan({ match: kit.keys.pattern() })) keys.push(...batch)
    expect(keys.some((key) => key.endsWith('.user:alice'))).toBe(false)
    const aliceKeys = devices.map((device) =>
      kit.keys.scope('sess').build(app.store.storedId(device.sessionId)),
    )
    expect(aliceKeys.filter((key) => keys.includes(key))).toEqual([])
    const values = await kit.store.mget(keys)
    expect(values.some((value) => value?.includes('alice'))).toBe(false)
  })

  it('`except` keeps the current device', async () => {
    const devices = ['a', 'b', 'c'].map((ua) => new Client(app.base, ua))
    for (const device of devices) await device.request('POST', '/login/carol')
    expect((await devices[1]!.request('POST', '/logout-everywhere?keepThis=1')).body).toEqual({ ended: 2 })
    expect((await devices[0]!.request('GET', '/me')).body).toEqual({ userId: null })
    expect((await devices[1]!.request('GET', '/me')).body).toEqual({ userId: 'carol' })
    expect((await devices[2]!.request('GET', '/me')).body).toEqual({ userId: null })
    expect(await app.store.listByUserId('carol')).toHaveLength(1)
  })

  it('logout race: a slow request that modifies the session never brings it back (100 times)', async () => {
    for (let round = 0; round < 100; round++) {
      const client = new Client(app.base, `racer-${round}`)
      await client.request('POST', `/login/racer${round}`)
      const cookie = client.cookie
      app.gate.reset()
      const slow = client.request('POST', '/slow')
      await app.gate.entered
      // Logout completes while the slow request still holds the session it loaded.
      const logout = new Client(app.base, 'same-browser')
      logout.cookie = cookie
      expect((await logout.request('POST', '/logout')).body).toEqual({ ok: true })
      app.gate.release()
      expect((await slow).status).toBe(200)
      const after = new Client(app.base, 'same-browser')
      after.cookie = cookie
      expect((await after.request('GET', '/me')).body).toEqual({ userId: null })
      expect(await app.store.get(client.sessionId)).toBeNull()
      expect(await app.store.listByUserId(`racer${round}`)).toEqual([])
    }
  }, 60_000)
})

describe('express-session when Redis goes away', () => {
  it('each request gets an error (never a made-up session) until Redis is back', async () => {
    const server = await startRedis()
    const kit = createRedkit({
      url: server.url,
      app: 'down',
      environment: {},
      commandTimeout: 300,
      breaker: { threshold: 2, cooldown: 200 },
    })
    const app = await startApp(kit)
    try {
      const client = new Client(app.base, 'ua')
      await client.request('POST', '/login/dave')
      expect((await client.request('GET', '/me')).body).toEqual({ userId: 'dave' })
      await server.kill9()
      for (let i = 0; i < 3; i++) {
        const response = await client.request('GET', '/me')
        expect(response.status).toBe(500)
        expect(response.body).toEqual({ error: 'unavailable' })
      }
      await server.restart()
      // The server restarted empty (no persistence): the old cookie now reads as no session.
      await waitFor(async () => (await client.request('GET', '/me')).status === 200, {
        timeoutMs: 10_000,
        message: 'requests to succeed again',
      })
      expect((await client.request('GET', '/me')).body).toEqual({ userId: null })
    } finally {
      await app.close()
      await kit.close()
      await server.stop()
    }
  })
  it("with unavailable: 'skip' the store emits disconnect while the breaker is open, connect after", async () => {
    const server = await startRedis()
    const kit = createRedkit({
      url: server.url,
      app: 'skip',
      environment: {},
      commandTimeout: 300,
      breaker: { threshold: 1, cooldown: 100 },
    })
    const store = kit.sessions({ secret: randomBytes(32), unavailable: 'skip' })
    const events: string[] = []
    store.on('disconnect', () => events.push('disconnect'))
    store.on('connect', () => events.push('connect'))
    try {
      await store.set('sid', { cookie: {}, userId: 'x' })
      await server.kill9()
      await expect(store.get('sid')).rejects.toBeInstanceOf(RedisUnavailableError)
      expect(events).toEqual(['disconnect'])
      await server.restart()
      await waitFor(
        async () => {
          await store.get('sid').catch(() => {})
          return events.at(-1) === 'connect'
        },
        { timeoutMs: 10_000, message: 'the breaker to close' },
      )
    } finally {
      await kit.close()
      await server.stop()
    }
  })
})
