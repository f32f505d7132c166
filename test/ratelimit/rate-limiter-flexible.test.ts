// RateLimiterRedkit side by side with rate-limiter-flexible 11 (RateLimiterRedis on ioredis, and
// RateLimiterMemory): the same calls in the same order give the same resolutions, rejections and fields.

import { inspect } from 'node:util'
import { Redis } from 'ioredis'
import { RateLimiterRes as FlexibleRes, RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createRedkit,
  RateLimiterRedkit,
  type RateLimiterRedkitOptions,
  RateLimiterRes,
  RedisUnavailableError,
  type Redkit,
} from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'

/** msBeforeNext of two limiters called one right after the other may differ by the time between the calls. */
const MS_TOLERANCE = 100

let server: RedisServer
let ioredis: Redis
let redisKit: Redkit
let memoryKit: Redkit
let counter = 0

beforeAll(async () => {
  server = await startRedis()
  ioredis = new Redis({ host: server.host, port: server.port, lazyConnect: false })
  redisKit = createRedkit({ url: server.url, app: 'rlf', environment: {} })
  memoryKit = createRedkit({ url: 'memory', app: 'rlf', environment: {} })
  await redisKit.ready()
})

afterAll(async () => {
  ioredis.disconnect()
  await redisKit.close()
  await memoryKit.close()
  await stopAllServers()
})

type Settled = { settled: 'resolved' | 'rejected'; value: unknown }

/** What a call gave, in a form two libraries can be compared by. */
async function settle(call: () => Promise<unknown>): Promise<Settled> {
  try {
    return { settled: 'resolved', value: plain(await call()) }
  } catch (error) {
    return { settled: 'rejected', value: plain(error) }
  }
}

function plain(value: unknown): unknown {
  if (value instanceof Error) return 'Error'
  if (value instanceof RateLimiterRes || value instanceof FlexibleRes) return value.toJSON()
  return value
}

/** The methods both libraries have, with the arguments both take. */
interface Limiter {
  consume(key: string | number, points?: number): Promise<unknown>
  penalty(key: string | number, points?: number): Promise<unknown>
  reward(key: string | number, points?: number): Promise<unknown>
  get(key: string | number): Promise<unknown>
  delete(key: string | number): Promise<unknown>
  block(key: string | number, secDuration: number): Promise<unknown>
}

interface Step {
  name: string
  call: (limiter: Limiter) => Promise<unknown>
  /**
   * The key is blocked: redkit keeps no count then and reports `blockedPoints`, where rate-limiter-flexible
   * goes on counting (documented).
   */
  blockedPoints?: number
  /** Fields in which RateLimiterMemory differs from RateLimiterRedis (which redkit follows). */
  memoryDiffers?: (keyof FlexibleRes)[]
  /** Waits (polling get) until the key is forgotten by every limiter: a window or block ran out. */
  until?: 'expired'
}

interface Side {
  name: string
  limiter: Limiter
  /** rate-limiter-flexible's limiter this one is compared with. */
  reference?: Side
  memory?: boolean
}

/** Runs every step on every side, one side right after the other, and compares each redkit side with its reference. */
async function sideBySide(options: Omit<RateLimiterRedkitOptions, 'kit'>, steps: Step[], key = 'k') {
  counter++
  const keyPrefix = `${options.keyPrefix ?? 'seq'}-${counter}`
  const rlfOptions = { ...options, keyPrefix }
  const rlfRedis: Side = {
    name: 'RateLimiterRedis',
    limiter: new RateLimiterRedis({ ...rlfOptions, storeClient: ioredis }),
  }
  const rlfMemory: Side = {
    name: 'RateLimiterMemory',
    limiter: new RateLimiterMemory(rlfOptions),
    memory: true,
  }
  const sides: Side[] = [
    rlfRedis,
    { name: 'redkit on Redis', limiter: facade(redisKit, options, keyPrefix), reference: rlfRedis },
    rlfMemory,
    { name: 'redkit in memory', limiter: facade(memoryKit, options, keyPrefix), reference: rlfMemory },
  ]
  if (options.blockOnConsumed !== undefined || options.inMemoryBlockOnConsumed !== undefined) {
    // RateLimiterMemory has neither option: compare with RateLimiterRedis only.
    sides.splice(2, 1)
    sides[2]!.reference = rlfRedis
  }
  const log: string[] = []
  for (const step of steps) {
    if (step.until === 'expired') {
      for (const side of sides) {
        await waitFor(async () => (await side.limiter.get(key)) === null, {
          timeoutMs: 10_000,
          message: `${side.name}: ${step.name}`,
        })
      }
      continue
    }
    const results = new Map<Side, Settled>()
    for (const side of sides) results.set(side, await settle(() => step.call(side.limiter)))
    for (const side of sides) {
      const reference = side.reference
      if (!reference) continue
      const ours = results.get(side)!
      const theirs = results.get(reference)!
      const where = `${step.name}: ${side.name} vs ${reference.name}`
      log.push(`${where}: ${JSON.stringify(ours)} / ${JSON.stringify(theirs)}`)
      expect(ours.settled, where).toBe(theirs.settled)
      if (typeof theirs.value !== 'object' || theirs.value === null) {
        expect(ours.value, where).toEqual(theirs.value)
        continue
      }
      const a = ours.value as Record<string, number | boolean>
      const b = { ...(theirs.value as Record<string, number | boolean>) }
      expect(
        Math.abs(Number(a.msBeforeNext) - Number(b.msBeforeNext)),
        `${where}: msBeforeNext`,
      ).toBeLessThanOrEqual(MS_TOLERANCE)
      if (step.blockedPoints !== undefined) {
        expect(a.consumedPoints, `${where}: consumedPoints while blocked`).toBe(step.blockedPoints)
        expect(Number(b.consumedPoints), where).toBeGreaterThan(options.points)
        b.consumedPoints = step.blockedPoints
      }
      for (const field of reference.memory ? (step.memoryDiffers ?? []) : []) delete b[field]
      const compared = Object.fromEntries(Object.keys(b).map((field) => [field, a[field]]))
      expect({ ...compared, msBeforeNext: 0 }, where).toEqual({ ...b, msBeforeNext: 0 })
    }
  }
  return log
}

function facade(kit: Redkit, options: Omit<RateLimiterRedkitOptions, 'kit'>, keyPrefix: string): Limiter {
  return new RateLimiterRedkit({ ...options, kit, keyPrefix })
}

describe('RateLimiterRedkit side by side with rate-limiter-flexible', () => {
  it('consume within and over the points, other keys, penalty, reward, get and delete', async () => {
    await sideBySide({ points: 3, duration: 5 }, [
      { name: 'first consume', call: (l) => l.consume('k') },
      { name: 'consume 2', call: (l) => l.consume('k', 2) },
      { name: 'over the points', call: (l) => l.consume('k') },
      { name: 'over again (rejected consumes count)', call: (l) => l.consume('k') },
      { name: 'get', call: (l) => l.get('k') },
      { name: 'another key', call: (l) => l.consume('other') },
      { name: 'a numeric key', call: (l) => l.consume(42) },
      { name: 'penalty', call: (l) => l.penalty('k', 2), memoryDiffers: [] },
      { name: 'reward', call: (l) => l.reward('k', 5) },
      { name: 'allowed again after the reward', call: (l) => l.consume('k') },
      { name: 'penalty on a fresh key', call: (l) => l.penalty('fresh', 2) },
      { name: 'delete', call: (l) => l.delete('k') },
      { name: 'delete again', call: (l) => l.delete('k') },
      { name: 'get after delete', call: (l) => l.get('k') },
      { name: 'get of a key never seen', call: (l) => l.get('never') },
      { name: 'a fresh window after delete', call: (l) => l.consume('k') },
    ])
  })

  it('a consume larger than the points is rejected and counted; the window runs out and starts afresh', async () => {
    await sideBySide({ points: 3, duration: 1 }, [
      { name: 'too big at once', call: (l) => l.consume('k', 5) },
      { name: 'still over', call: (l) => l.consume('k') },
      { name: 'window ends', call: async () => null, until: 'expired' },
      { name: 'fresh window', call: (l) => l.consume('k', 3) },
      { name: 'over by one', call: (l) => l.consume('k') },
    ])
  })

  it('blockDuration: the consume that goes over blocks the key, which starts afresh when the block ends', async () => {
    await sideBySide({ points: 2, duration: 1, blockDuration: 2 }, [
      { name: 'one', call: (l) => l.consume('k') },
      { name: 'two', call: (l) => l.consume('k') },
      // RateLimiterMemory reports the block it just set as first in its duration.
      { name: 'over: blocked', call: (l) => l.consume('k'), memoryDiffers: ['isFirstInDuration'] },
      { name: 'while blocked', call: (l) => l.consume('k'), blockedPoints: 3 },
      { name: 'get while blocked', call: (l) => l.get('k'), blockedPoints: 3 },
      { name: 'penalty while blocked', call: (l) => l.penalty('k'), blockedPoints: 3, memoryDiffers: [] },
      { name: 'block ends', call: async () => null, until: 'expired' },
      { name: 'fresh after the block', call: (l) => l.consume('k') },
    ])
  })

  it('block(key, sec) by hand, and a consume of several points that goes over', async () => {
    await sideBySide({ points: 2, duration: 10, blockDuration: 1 }, [
      { name: 'block', call: (l) => l.block('k', 1) },
      { name: 'consume while blocked', call: (l) => l.consume('k'), blockedPoints: 3 },
      { name: 'get while blocked', call: (l) => l.get('k'), blockedPoints: 3 },
      { name: 'block ends', call: async () => null, until: 'expired' },
      { name: 'consume after the block', call: (l) => l.consume('k') },
      {
        name: 'over by two at once: blocked',
        call: (l) => l.consume('k', 3),
        memoryDiffers: ['isFirstInDuration'],
      },
      { name: 'delete lifts the block', call: (l) => l.delete('k') },
      { name: 'allowed after delete', call: (l) => l.consume('k') },
    ])
  })

  it('blockOnConsumed blocks only from that many points (RateLimiterRedis)', async () => {
    await sideBySide({ points: 2, duration: 1, blockDuration: 2, blockOnConsumed: 4 }, [
      { name: 'one', call: (l) => l.consume('k') },
      { name: 'two', call: (l) => l.consume('k') },
      { name: 'three: over, not blocked', call: (l) => l.consume('k') },
      { name: 'four: blocked', call: (l) => l.consume('k') },
      { name: 'while blocked', call: (l) => l.consume('k'), blockedPoints: 4 },
      { name: 'block ends', call: async () => null, until: 'expired' },
      { name: 'fresh', call: (l) => l.consume('k') },
    ])
  })

  it('inMemoryBlockOnConsumed without a duration: blocked in memory until the window ends (RateLimiterRedis)', async () => {
    await sideBySide({ points: 2, duration: 2, inMemoryBlockOnConsumed: 2 }, [
      { name: 'one', call: (l) => l.consume('k') },
      { name: 'two reaches the threshold: allowed', call: (l) => l.consume('k') },
      { name: 'three: rejected from memory', call: (l) => l.consume('k') },
      { name: 'get still reads the store', call: (l) => l.get('k') },
    ])
  })

  it('inMemoryBlockOnConsumed with inMemoryBlockDuration (RateLimiterRedis)', async () => {
    await sideBySide({ points: 2, duration: 1, inMemoryBlockOnConsumed: 3, inMemoryBlockDuration: 3 }, [
      { name: 'one', call: (l) => l.consume('k') },
      { name: 'two', call: (l) => l.consume('k') },
      { name: 'three: over, blocked in memory for 3 s', call: (l) => l.consume('k') },
      { name: 'four: rejected from memory', call: (l) => l.consume('k') },
    ])
  })

  it('a fraction of a point rejects with an Error, as RateLimiterRedis does', async () => {
    const keyPrefix = `fraction-${++counter}`
    const ours = new RateLimiterRedkit({ kit: redisKit, points: 2, duration: 1, keyPrefix })
    const theirs = new RateLimiterRedis({ storeClient: ioredis, points: 2, duration: 1, keyPrefix })
    const expected = { settled: 'rejected', value: 'Error' }
    expect(await settle(() => theirs.consume('k', 1.5))).toEqual(expected)
    expect(await settle(() => ours.consume('k', 1.5))).toEqual(expected)
    // Nothing was counted by either.
    expect(await ours.get('k')).toBeNull()
    expect(await theirs.get('k')).toBeNull()
  })
})

describe('RateLimiterRes', () => {
  it('serialises and prints like rate-limiter-flexible’s', () => {
    const ours = new RateLimiterRes(3, 1500, 2, true)
    const theirs = new FlexibleRes(3, 1500, 2, true)
    expect(ours.toJSON()).toEqual(theirs.toJSON())
    expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs))
    expect(String(ours)).toBe(String(theirs))
    expect(inspect(ours)).toBe(inspect(theirs))
    expect(new RateLimiterRes().toJSON()).toEqual(new FlexibleRes().toJSON())
  })
})

describe('RateLimiterRedkit on redkit', () => {
  it('two instances (two kits on one Redis) share counts and blocks', async () => {
    const other = createRedkit({ url: server.url, app: 'rlf', environment: {} })
    try {
      const keyPrefix = `shared-${++counter}`
      const options = { points: 2, duration: 60, blockDuration: 60, keyPrefix }
      const a = new RateLimiterRedkit({ kit: redisKit, ...options })
      const b = new RateLimiterRedkit({ kit: other, ...options })
      expect((await a.consume('k')).consumedPoints).toBe(1)
      expect((await b.consume('k')).consumedPoints).toBe(2)
      await expect(a.consume('k')).rejects.toMatchObject({ msBeforeNext: 60_000, consumedPoints: 3 })
      const blocked = await b.consume('k').catch((rejection: unknown) => rejection)
      expect(blocked).toBeInstanceOf(RateLimiterRes)
      expect((blocked as RateLimiterRes).remainingPoints).toBe(0)
      expect(await b.delete('k')).toBe(true)
      // a rejected the blocked key from memory; b's delete reaches it over the bus.
      const after = await waitFor(() => a.consume('k').catch(() => undefined), {
        message: 'delete never reached a',
      })
      expect(after?.consumedPoints).toBe(1)
    } finally {
      await other.close()
    }
  })

  it('rejects a blocked key from memory, without a round trip', async () => {
    const limiter = new RateLimiterRedkit({
      kit: redisKit,
      points: 1,
      duration: 60,
      blockDuration: 60,
      keyPrefix: `mem-${++counter}`,
    })
    await limiter.consume('k')
    await expect(limiter.consume('k')).rejects.toBeInstanceOf(RateLimiterRes)
    const metrics = () =>
      redisKit.metrics().ratelimit as Record<string, { storeCalls: number; blockedCacheHits: number }>
    await waitFor(async () => {
      const before = metrics()[limiter.keyPrefix]!.storeCalls
      await limiter.consume('k').catch(() => {})
      return metrics()[limiter.keyPrefix]!.storeCalls === before
    })
    expect(metrics()[limiter.keyPrefix]!.blockedCacheHits).toBeGreaterThan(0)
  })
})

describe('when Redis is down', () => {
  it("rejects with an Error (onStoreError: 'throw'), as RateLimiterRedis does; 'insurance' goes on limiting", async () => {
    const down = await startRedis()
    const kit = createRedkit({
      url: down.url,
      app: 'rlf',
      environment: {},
      commandTimeout: 300,
      breaker: { threshold: 2, cooldown: 200 },
    })
    const client = new Redis({
      host: down.host,
      port: down.port,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    })
    try {
      await kit.ready()
      await waitFor(() => client.status === 'ready')
      const thrower = new RateLimiterRedkit({ kit, points: 2, duration: 60, keyPrefix: 'throw' })
      const insured = new RateLimiterRedkit({
        kit,
        points: 4,
        duration: 60,
        keyPrefix: 'insured',
        onStoreError: 'insurance',
        instances: 2,
      })
      const reference = new RateLimiterRedis({
        storeClient: client,
        points: 2,
        duration: 60,
        keyPrefix: 'throw',
      })
      expect((await thrower.consume('k')).consumedPoints).toBe(1)
      expect((await reference.consume('k')).consumedPoints).toBe(1)

      await down.kill9()
      await waitFor(() => client.status !== 'ready')
      const theirs = await reference.consume('k').catch((error: unknown) => error)
      const ours = await thrower.consume('k').catch((error: unknown) => error)
      expect(theirs).toBeInstanceOf(Error)
      expect(ours).toBeInstanceOf(Error)
      expect(ours).toBeInstanceOf(RedisUnavailableError)
      await expect(thrower.get('k')).rejects.toBeInstanceOf(RedisUnavailableError)

      // Two instances share 4 points: each allows 2 while Redis is down.
      const during: string[] = []
      for (let i = 0; i < 4; i++) {
        during.push(
          await insured.consume('k').then(
            (res) => `ok ${res.remainingPoints}`,
            (res: RateLimiterRes) => `no ${res.remainingPoints}`,
          ),
        )
      }
      expect(during).toEqual(['ok 1', 'ok 0', 'no 0', 'no 0'])
      await expect(insured.penalty('k')).rejects.toBeInstanceOf(RedisUnavailableError)
    } finally {
      client.disconnect()
      await kit.close()
      await down.stop()
    }
  })
})
