// Bad input through a real kit, on the embedded store and on a real redis-server: corrupt or foreign
// bytes under cache, session and limiter keys, hostile key parts and values JSON cannot keep.

import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CacheSerializationError,
  CacheValueTooLargeError,
  createRedkit,
  InvalidOptionsError,
  type Redkit,
  SessionDataError,
} from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers } from '../harness/index.js'

let server: RedisServer
let raw: Redis
const kits: Redkit[] = []

beforeAll(async () => {
  server = await startRedis()
  raw = new Redis(server.url)
})
afterAll(async () => {
  raw?.disconnect()
  await Promise.all(kits.map((kit) => kit.close()))
  await stopAllServers()
})

interface Backend {
  name: string
  kit(): Redkit
  /** Writes bytes as they are under a full key (binary only where the backend stores bytes). */
  write(key: string, value: string | Buffer): Promise<void>
}

let memoryKit: Redkit | undefined
const backends: Backend[] = [
  {
    name: 'memory',
    kit: () => {
      memoryKit = track(createRedkit({ url: 'memory', app: 'bad' }))
      return memoryKit
    },
    // The embedded store keeps text: bytes arrive as one character each.
    async write(key, value) {
      await memoryKit!.store.set(key, typeof value === 'string' ? value : value.toString('latin1'))
    },
  },
  {
    name: 'redis',
    kit: () => track(createRedkit({ url: server.url, app: 'bad', environment: {} })),
    async write(key, value) {
      await raw.set(key, value)
    },
  },
]

function track(kit: Redkit): Redkit {
  kits.push(kit)
  return kit
}

/** Text and bytes an attacker or an old deployment could leave under a key. */
const storedGarbage = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes)),
  fc
    .tuple(
      fc.constantFrom(
        'rk1|',
        'rk1|t--|',
        'rk1|tg-|1|',
        'rk1|b--|0|zzzzzzzzzz|zzzzzzzzzz||',
        'rk1|t--|1|zzzzzzzzzz|zzzzzzzzzz||',
      ),
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 30 }),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      ),
    )
    .map(([head, tail]) => head + tail),
  fc.constantFrom(
    'rk1|t--|1|zzzzzzzzzz|zzzzzzzzzz||{"__proto__":{"polluted":"yes"},"a":1}',
    'rk1|t--|1|zzzzzzzzzz|zzzzzzzzzz||{"__pr\\u006fto__":{"polluted":"yes"},"a":1}',
    'rk1|t-s|1|zzzzzzzzzz|zzzzzzzzzz||{"$rk":"bigint","v":"not a number"}',
    'rk1|t--|1|zzzzzzzzzz|zzzzzzzzzz||{"constructor":{"prototype":{"polluted":"yes"}}}',
  ),
)

function noPollution(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  expect(Object.prototype).not.toHaveProperty('polluted')
}

for (const backend of backends) {
  describe(`bad input on ${backend.name}`, () => {
    let kit: Redkit
    beforeAll(() => {
      kit = backend.kit()
    })

    it('corrupt bytes under a cache key are a miss (the factory runs), never an error or a polluted prototype', async () => {
      const cache = kit.cache(`c${randomBytes(3).toString('hex')}`, { ttl: '1m', l1: false })
      let n = 0
      await fc.assert(
        fc.asyncProperty(storedGarbage, async (garbage) => {
          const key = ['k', n++]
          await backend.write(cache.keyOf(key), garbage)
          const value = await cache.get(key)
          // A corrupt entry is deleted; a valid one (such as a cached undefined, an empty payload) stays.
          const corrupt = (await kit.store.get(cache.keyOf(key))) === null
          if (value !== undefined && value !== null && typeof value === 'object') {
            expect(Object.hasOwn(value, '__proto__')).toBe(false)
            expect([Object.prototype, Array.prototype]).toContain(Object.getPrototypeOf(value))
          }
          await backend.write(cache.keyOf(key), garbage)
          const loaded = await cache.getOrSet(key, () => ({ fresh: true }))
          // A foreign value that happens to decode is served; anything else ran the factory.
          if (corrupt) expect(loaded).toEqual({ fresh: true })
          else expect(loaded).toEqual(value)
          noPollution()
        }),
        { numRuns: 120 },
      )
    })

    it('hostile key parts never reach another key, and a pattern of them deletes only their own entries', async () => {
      const cache = kit.cache(`p${randomBytes(3).toString('hex')}`, { ttl: '1m', l1: false })
      const part = fc.string({
        unit: fc.constantFrom(
          '*',
          '?',
          '[',
          ']',
          '\\',
          ':',
          '{',
          '}',
          '%',
          ',',
          '_',
          'a',
          'h',
          '.',
          '\ud800',
          'é',
        ),
        maxLength: 5,
      })
      let run = 0
      await fc.assert(
        fc.asyncProperty(fc.uniqueArray(part, { minLength: 2, maxLength: 5 }), async (users) => {
          const round = run++
          for (const user of users) await cache.set(['r', round, user, 'profile'], user)
          for (const user of users) expect(await cache.get(['r', round, user, 'profile'])).toBe(user)
          const [victim, ...others] = users
          expect(await cache.deletePattern(cache.pattern(['r', round, victim!]))).toBe(1)
          expect(await cache.get(['r', round, victim!, 'profile'])).toBeUndefined()
          for (const user of others) expect(await cache.get(['r', round, user, 'profile'])).toBe(user)
        }),
        { numRuns: 40 },
      )
    })

    it('refuses values JSON cannot keep, and oversized ones, with typed errors at set', async () => {
      const cache = kit.cache(`v${randomBytes(3).toString('hex')}`, { ttl: '1m', maxSize: 1024 })
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      for (const value of [
        Number.NaN,
        { n: Number.POSITIVE_INFINITY },
        [() => 1],
        Symbol('x'),
        cyclic,
        new Map(),
      ]) {
        await expect(cache.set('bad', value)).rejects.toBeInstanceOf(CacheSerializationError)
      }
      await expect(cache.set('big', 'x'.repeat(2000))).rejects.toBeInstanceOf(CacheValueTooLargeError)
      await expect(cache.getOrSet('nan', () => Number.NaN)).rejects.toBeInstanceOf(CacheSerializationError)
      await cache.set('bigint', { n: 2n ** 70n })
      expect(await cache.get('bigint')).toEqual({ n: 2n ** 70n })
      await expect(cache.set('tag', 1, { tags: ['\ud800'] })).rejects.toBeInstanceOf(InvalidOptionsError)
      expect(await kit.store.get(cache.keyOf('bad'))).toBeNull()
    })

    it('corrupt bytes under a session key are a SessionDataError for that id only', async () => {
      const prefix = `s${randomBytes(3).toString('hex')}`
      const store = kit.sessions({ prefix, secret: randomBytes(32).toString('base64') })
      const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() }
      await store.set('good', { cookie, ok: true } as never)
      let n = 0
      await fc.assert(
        fc.asyncProperty(
          storedGarbage,
          fc.constantFrom('', 'rk1:', 'rk1e:', 'rk1:1,2\n'),
          async (garbage, head) => {
            const id = `bad-${n++}`
            await store.set(id, { cookie, n } as never)
            const key = kit.keys.scope(prefix).build(store.storedId(id))
            expect(await kit.store.exists([key])).toBe(1)
            await backend.write(
              key,
              typeof garbage === 'string' ? head + garbage : Buffer.concat([Buffer.from(head), garbage]),
            )
            const outcome = await new Promise<unknown>((resolve) =>
              store.get(id, (error, data) => resolve(error ?? data)),
            )
            if (outcome instanceof Error) expect(outcome).toBeInstanceOf(SessionDataError)
            else if (outcome !== null) expect(Object.getPrototypeOf(outcome)).toBe(Object.prototype)
            noPollution()
          },
        ),
        { numRuns: 80 },
      )
      expect(await store.get('good')).toMatchObject({ ok: true })
      expect((await store.all()).length).toBeGreaterThanOrEqual(1)
    })

    it('limiter state that only looks valid (a far horizon its expiry does not cover) is replaced', async () => {
      const double = (...values: number[]) =>
        Buffer.concat(
          values.map((v) => {
            const b = Buffer.alloc(8)
            b.writeDoubleLE(v)
            return b
          }),
        )
      const farAway = 2 ** 49
      const cases = [
        ['fixed-window', double(farAway, 0, 0, 0, 0)],
        ['sliding-window', double(0, 0, 0, farAway, 0, 0)],
        ['token-bucket', double(farAway * 1000)],
        ['token-bucket', double(Number.NaN)],
        ['fixed-window', double(Date.now() + 30_000, -3)],
        ['sliding-window', double(0, 0.5, 1)],
      ] as const
      for (const [i, [algorithm, bytes]] of cases.entries()) {
        const limiter = kit.limiter(`seed${i}${randomBytes(3).toString('hex')}`, {
          algorithm,
          limit: 5,
          window: '1m',
        })
        await limiter.consume('k')
        await backend.write(kit.keys.scope('ratelimit', limiter.name).tagged('k'), bytes)
        expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 4, blocked: false })
      }
    })

    for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket'] as const) {
      it(`${algorithm}: foreign state under a limiter key gives a sane answer and is replaced`, async () => {
        const name = `l${algorithm}${randomBytes(3).toString('hex')}`
        const limit = 5
        const limiter = kit.limiter(name, { algorithm, limit, window: '1m' })
        const windowMs = 60_000
        let n = 0
        // Lengths of the binary state (8, 16 or 24 bytes) and of state plus block (+24), or anything.
        const stateBytes = fc.oneof(
          fc
            .constantFrom(8, 16, 24, 32, 40, 48)
            .chain((length) => fc.uint8Array({ minLength: length, maxLength: length })),
          fc.uint8Array({ maxLength: 60 }),
        )
        await fc.assert(
          fc.asyncProperty(stateBytes, async (bytes) => {
            const key = `k${n++}`
            await limiter.consume(key)
            await backend.write(kit.keys.scope('ratelimit', name).tagged(key), Buffer.from(bytes))
            const result = await limiter.consume(key)
            expect(Number.isInteger(result.remaining)).toBe(true)
            expect(result.remaining).toBeGreaterThanOrEqual(0)
            expect(result.remaining).toBeLessThanOrEqual(limit)
            expect(Number.isFinite(result.retryAfterMs)).toBe(true)
            expect(result.retryAfterMs).toBeGreaterThanOrEqual(0)
            expect(result.retryAfterMs).toBeLessThanOrEqual(2 * windowMs)
            expect(Number.isNaN(new Date(result.resetAt).getTime())).toBe(false)
            expect(result.resetAt).toBeLessThanOrEqual(Date.now() + 2 * windowMs + 1000)
            // Replaced: the key now counts like a fresh one.
            expect(result).toMatchObject({ allowed: true, remaining: limit - 1 })
          }),
          { numRuns: 60 },
        )
      })
    }
  })
}
