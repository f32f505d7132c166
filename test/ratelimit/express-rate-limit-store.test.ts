// express-rate-limit 8 over real Express 5 HTTP with RedkitStore (embedded store and a real redis-server),
// side by side with its own MemoryStore: same statuses, headers and bodies; counts shared across apps.

import type { AddressInfo } from 'node:net'
import express, { type Express } from 'express'
import { type Logger, MemoryStore, type Options, rateLimit, type Store } from 'express-rate-limit'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, RedisUnavailableError, type Redkit } from '../../src/index.js'
import { RedkitStore } from '../../src/integrations/express-rate-limit/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'

let server: RedisServer
let redisKit: Redkit
let otherRedisKit: Redkit
let memoryKit: Redkit
let counter = 0
const closers: (() => Promise<void>)[] = []

/** What express-rate-limit logged: its validations report through this logger instead of the console. */
let logged: { level: 'warn' | 'error'; error: unknown; message?: string }[] = []
const logger: Logger = {
  warn: (error, message) => logged.push({ level: 'warn', error, message }),
  error: (error, message) => logged.push({ level: 'error', error, message }),
}
/** Set by tests that expect express-rate-limit to complain. */
let expectLogs = false

beforeAll(async () => {
  server = await startRedis()
  redisKit = createRedkit({ url: server.url, app: 'erl', environment: {} })
  otherRedisKit = createRedkit({ url: server.url, app: 'erl', environment: {} })
  memoryKit = createRedkit({ url: 'memory', app: 'erl', environment: {} })
  await redisKit.ready()
  await otherRedisKit.ready()
})

afterEach(() => {
  if (!expectLogs) expect(logged, 'express-rate-limit logged warnings or errors').toEqual([])
  logged = []
  expectLogs = false
})

afterAll(async () => {
  for (const close of closers.splice(0)) await close()
  await redisKit.close()
  await otherRedisKit.close()
  await memoryKit.close()
  await stopAllServers()
})

async function listen(app: Express): Promise<string> {
  const http = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => http.once('listening', () => resolve()))
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections()
        http.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`
}

type LimiterOptions = Partial<Options>
type Middleware = ReturnType<typeof rateLimit>

/** An app with one limited route answering `req.rateLimit` (or 400 on `/fail`). */
async function limitedApp(options: LimiterOptions): Promise<{ base: string; limiter: Middleware }> {
  const app = express()
  const limiter = rateLimit({ windowMs: 60_000, limit: 3, logger, ...options })
  app.use(limiter)
  app.get('/ok', (req, res) => {
    const info = (
      req as typeof req & { rateLimit?: { limit: number; used: number; remaining: number; resetTime?: Date } }
    ).rateLimit
    if (!info) {
      res.json({ uncounted: true })
      return
    }
    res.json({ limit: info.limit, used: info.used, remaining: info.remaining, resetTime: info.resetTime })
  })
  app.get('/fail', (_req, res) => {
    res.status(400).send('bad')
  })
  return { base: await listen(app), limiter }
}

const HEADERS = [
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'retry-after',
]

interface Answer {
  status: number
  headers: Record<string, string>
  body: unknown
}

async function call(url: string): Promise<Answer> {
  const response = await fetch(url)
  const headers: Record<string, string> = {}
  for (const name of HEADERS) {
    const value = response.headers.get(name)
    if (value !== null) headers[name] = value
  }
  const text = await response.text()
  let body: unknown = text
  if (response.headers.get('content-type')?.includes('json')) body = JSON.parse(text)
  return { status: response.status, headers, body }
}

/** Headers that are a number of seconds (or epoch seconds): equal up to a second between two apps. */
const TIME_HEADERS = new Set(['ratelimit-reset', 'x-ratelimit-reset', 'retry-after'])
/** The reset seconds inside draft-7 (`reset=30`) and draft-8 (`t=30`) RateLimit headers. */
const RESET_SECONDS = /(?<=\b(?:t|reset)=)\d+/g

/** Expects two answers to match, reset seconds and times within a second of each other. */
function expectSameAnswer(ours: Answer, theirs: Answer, where: string): void {
  expect(ours.status, where).toBe(theirs.status)
  expect(Object.keys(ours.headers).sort(), where).toEqual(Object.keys(theirs.headers).sort())
  for (const [name, value] of Object.entries(theirs.headers)) {
    const ourValue = ours.headers[name]!
    const [ourSeconds, theirSeconds] = TIME_HEADERS.has(name)
      ? [[ourValue], [value]]
      : [ourValue.match(RESET_SECONDS) ?? [], value.match(RESET_SECONDS) ?? []]
    if (!TIME_HEADERS.has(name)) {
      expect(ourValue.replace(RESET_SECONDS, 'N'), `${where}: ${name}`).toBe(
        value.replace(RESET_SECONDS, 'N'),
      )
    }
    expect(ourSeconds.length, `${where}: ${name}`).toBe(theirSeconds.length)
    ourSeconds.forEach((seconds, i) => {
      expect(seconds, `${where}: ${name}`).toMatch(/^\d+$/)
      expect(Math.abs(Number(seconds) - Number(theirSeconds[i])), `${where}: ${name}`).toBeLessThanOrEqual(1)
    })
  }
  if (typeof theirs.body === 'object' && theirs.body !== null && 'resetTime' in theirs.body) {
    const { resetTime: ourReset, ...ourInfo } = ours.body as { resetTime: string }
    const { resetTime: theirReset, ...theirInfo } = theirs.body as { resetTime: string }
    expect(ourInfo, where).toEqual(theirInfo)
    expect(Math.abs(Date.parse(ourReset) - Date.parse(theirReset)), `${where}: resetTime`).toBeLessThan(1000)
  } else {
    expect(ours.body, where).toEqual(theirs.body)
  }
}

function redkitStore(kit: Redkit, prefix = `erl-${++counter}`): RedkitStore {
  return new RedkitStore({ kit, prefix })
}

/** The three stores compared: express-rate-limit's own, and redkit's on both backends. */
function stores(): { name: string; store: () => Store }[] {
  return [
    { name: 'redkit in memory', store: () => redkitStore(memoryKit) },
    { name: 'redkit on Redis', store: () => redkitStore(redisKit) },
  ]
}

describe('RedkitStore side by side with MemoryStore', () => {
  it.each(['draft-6', 'draft-7', 'draft-8'] as const)(
    'gives the same statuses, %s and legacy headers, req.rateLimit and 429 body',
    async (standardHeaders) => {
      const options = { standardHeaders, legacyHeaders: true }
      const reference = await limitedApp({ ...options, store: new MemoryStore() })
      const sides = await Promise.all(
        stores().map(async (side) => ({
          ...side,
          app: await limitedApp({ ...options, store: side.store() }),
        })),
      )
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) {
        const theirs = await call(`${reference.base}/ok`)
        statuses.push(theirs.status)
        for (const side of sides)
          expectSameAnswer(await call(`${side.app.base}/ok`), theirs, `${side.name} #${i + 1}`)
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429])
    },
  )

  it('without headers, with a custom status, message and limit function', async () => {
    const options: LimiterOptions = {
      standardHeaders: false,
      legacyHeaders: false,
      statusCode: 503,
      message: { error: 'slow down' },
      limit: () => 2,
    }
    const reference = await limitedApp({ ...options, store: new MemoryStore() })
    const ours = await limitedApp({ ...options, store: redkitStore(redisKit) })
    const answers: number[] = []
    for (let i = 0; i < 4; i++) {
      const theirs = await call(`${reference.base}/ok`)
      answers.push(theirs.status)
      expectSameAnswer(await call(`${ours.base}/ok`), theirs, `#${i + 1}`)
    }
    expect(answers).toEqual([200, 200, 503, 503])
  })

  it('skipSuccessfulRequests: successful requests are taken back with decrement', async () => {
    const options: LimiterOptions = { limit: 2, skipSuccessfulRequests: true, standardHeaders: 'draft-8' }
    const plan = ['ok', 'ok', 'ok', 'fail', 'fail', 'ok', 'fail', 'ok']
    const run = async (store: Store): Promise<number[]> => {
      const { base, limiter } = await limitedApp({ ...options, store })
      const statuses: number[] = []
      let hits = 0
      for (const path of plan) {
        const { status } = await call(`${base}/${path}`)
        statuses.push(status)
        hits += status < 400 ? 0 : 1
        // The decrement runs once the response is sent: wait for it before the next request.
        await waitFor(async () => ((await limiter.getKey('127.0.0.1'))?.totalHits ?? 0) === hits, {
          message: `hits after ${path}`,
        })
      }
      return statuses
    }
    const expected = [200, 200, 200, 400, 400, 429, 429, 429]
    expect(await run(new MemoryStore())).toEqual(expected)
    for (const side of stores()) expect(await run(side.store()), side.name).toEqual(expected)
  })

  it('resetKey forgets a client, and get reads its hits', async () => {
    for (const side of [{ name: 'MemoryStore', store: () => new MemoryStore() as Store }, ...stores()]) {
      const { base, limiter } = await limitedApp({
        limit: 1,
        standardHeaders: 'draft-8',
        store: side.store(),
      })
      expect(await limiter.getKey('127.0.0.1'), side.name).toBeUndefined()
      expect((await call(`${base}/ok`)).status, side.name).toBe(200)
      expect((await call(`${base}/ok`)).status, side.name).toBe(429)
      const info = await limiter.getKey('127.0.0.1')
      expect(info?.totalHits, side.name).toBe(2)
      expect(Math.abs(info!.resetTime!.getTime() - (Date.now() + 60_000)), side.name).toBeLessThan(2000)
      await limiter.resetKey('127.0.0.1')
      const again = await call(`${base}/ok`)
      expect(again.status, side.name).toBe(200)
      expect(again.headers.ratelimit, side.name).toMatch(/; r=0; t=60$/)
    }
  })

  it('the window ends windowMs after the first hit, then counting starts afresh', async () => {
    for (const side of [{ name: 'MemoryStore', store: () => new MemoryStore() as Store }, ...stores()]) {
      const { base, limiter } = await limitedApp({ windowMs: 1000, limit: 1, store: side.store() })
      expect((await call(`${base}/ok`)).status, side.name).toBe(200)
      expect((await call(`${base}/ok`)).status, side.name).toBe(429)
      await waitFor(async () => (await limiter.getKey('127.0.0.1')) === undefined, { message: side.name })
      expect((await call(`${base}/ok`)).status, side.name).toBe(200)
    }
  })
})

describe('RedkitStore on redkit', () => {
  it('two apps with their own kits on one Redis share the count (two MemoryStores do not)', async () => {
    const prefix = `shared-${++counter}`
    const one = await limitedApp({ limit: 2, store: new RedkitStore({ kit: redisKit, prefix }) })
    const two = await limitedApp({ limit: 2, store: new RedkitStore({ kit: otherRedisKit, prefix }) })
    const statuses = []
    for (const app of [one, two, one, two]) statuses.push((await call(`${app.base}/ok`)).status)
    expect(statuses).toEqual([200, 200, 429, 429])
    // The reset of one app is seen by the other.
    await one.limiter.resetKey('127.0.0.1')
    expect((await call(`${two.base}/ok`)).status).toBe(200)

    const alone = [await limitedApp({ limit: 2 }), await limitedApp({ limit: 2 })]
    const local = []
    for (const app of [alone[0]!, alone[1]!, alone[0]!, alone[1]!])
      local.push((await call(`${app.base}/ok`)).status)
    expect(local).toEqual([200, 200, 200, 200])
  })

  it('resetAll forgets every client of its prefix, and only those', async () => {
    for (const kit of [memoryKit, redisKit]) {
      const store = redkitStore(kit)
      const neighbour = redkitStore(kit)
      store.init({ windowMs: 60_000 })
      neighbour.init({ windowMs: 60_000 })
      for (const key of ['a', 'b', 'c:{x}*']) await store.increment(key)
      await neighbour.increment('a')
      await store.resetAll()
      for (const key of ['a', 'b', 'c:{x}*']) expect(await store.get(key), kit.mode).toBeUndefined()
      expect((await neighbour.get('a'))?.totalHits, kit.mode).toBe(1)
    }
  })

  it('counts in Redis under the kit prefix, one key per client', async () => {
    const store = redkitStore(redisKit, 'layout')
    store.init({ windowMs: 60_000 })
    await store.increment('203.0.113.7')
    expect(await server.cli('EXISTS', 'erl:ratelimit:layout:{203.0.113.7}')).toBe('1')
    const ttl = Number(await server.cli('PTTL', 'erl:ratelimit:layout:{203.0.113.7}'))
    expect(ttl).toBeGreaterThan(58_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })
})

describe("express-rate-limit's own store checks", () => {
  it('pass with one RedkitStore per limiter: no warning or error is logged', async () => {
    const app = express()
    app.use(rateLimit({ limit: 5, logger, store: redkitStore(redisKit), standardHeaders: 'draft-7' }))
    app.use(rateLimit({ limit: 5, logger, store: redkitStore(redisKit), standardHeaders: 'draft-8' }))
    app.get('/ok', (_req, res) => {
      res.send('ok')
    })
    const base = await listen(app)
    for (let i = 0; i < 3; i++) expect((await call(`${base}/ok`)).status).toBe(200)
    // afterEach checks that nothing was logged.
  })

  it('report a store shared by two limiters (ERR_ERL_STORE_REUSE), as for any store', () => {
    expectLogs = true
    const store = redkitStore(memoryKit)
    rateLimit({ logger, store })
    rateLimit({ logger, store })
    expect(logged.map(({ error }) => (error as { code?: string }).code)).toContain('ERR_ERL_STORE_REUSE')
  })

  it('report double counting when two limiters count one request under one prefix (ERR_ERL_DOUBLE_COUNT)', async () => {
    expectLogs = true
    const prefix = `double-${++counter}`
    const app = express()
    app.use(rateLimit({ logger, store: new RedkitStore({ kit: redisKit, prefix }) }))
    app.use(rateLimit({ logger, store: new RedkitStore({ kit: otherRedisKit, prefix }) }))
    app.get('/ok', (_req, res) => {
      res.send('ok')
    })
    await call(`${await listen(app)}/ok`)
    expect(logged.map(({ error }) => (error as { code?: string }).code)).toEqual(['ERR_ERL_DOUBLE_COUNT'])
  })

  it('a prefix already counting with another window is logged at init, and increment rejects', async () => {
    expectLogs = true
    const prefix = `taken-${++counter}`
    rateLimit({ windowMs: 60_000, logger, store: new RedkitStore({ kit: memoryKit, prefix }) })
    const store = new RedkitStore({ kit: memoryKit, prefix })
    rateLimit({ windowMs: 1000, logger, store })
    expect(logged).toHaveLength(1)
    expect(String((logged[0]!.error as Error).message)).toMatch(/already counts with another windowMs/)
    await expect(store.increment('k')).rejects.toThrow(/already counts with another windowMs/)
  })
})

describe('when Redis is down', () => {
  it("insurance (default) keeps limiting in process; 'throw' fails over to passOnStoreError", async () => {
    expectLogs = true
    const down = await startRedis()
    const kit = createRedkit({
      url: down.url,
      app: 'erl',
      environment: {},
      commandTimeout: 300,
      breaker: { threshold: 2, cooldown: 200 },
    })
    try {
      await kit.ready()
      const insured = await limitedApp({ limit: 2, store: new RedkitStore({ kit, prefix: 'insured' }) })
      const failing = await limitedApp({
        limit: 2,
        passOnStoreError: true,
        store: new RedkitStore({ kit, prefix: 'failing', onStoreError: 'throw' }),
      })
      const split = await limitedApp({
        limit: 4,
        store: new RedkitStore({ kit, prefix: 'split', instances: 2 }),
      })
      expect((await call(`${insured.base}/ok`)).status).toBe(200)
      await down.kill9()
      const statuses = []
      for (let i = 0; i < 3; i++) statuses.push((await call(`${insured.base}/ok`)).status)
      // The in-process count starts from nothing: 2 pass, then 429.
      expect(statuses).toEqual([200, 200, 429])
      // Two instances share a limit of 4: each lets 2 through while Redis is down.
      const shares = []
      for (let i = 0; i < 3; i++) shares.push(await call(`${split.base}/ok`))
      expect(shares.map(({ status }) => status)).toEqual([200, 200, 429])
      expect(shares[1]!.body).toMatchObject({ used: 4, remaining: 0 })
      // Let through uncounted: the route sees no req.rateLimit.
      expect(await call(`${failing.base}/ok`)).toMatchObject({ status: 200, body: { uncounted: true } })
      expect(logged.map(({ error }) => error)).toEqual([expect.any(RedisUnavailableError)])
    } finally {
      await kit.close()
      await down.stop()
    }
  })
})
