// Suite `ratelimit`: kit.limiter().consume against rate-limiter-flexible 11 (RateLimiterRedis on ioredis
// and on node-redis, each set up as its docs show) on the same server; also counts commands per request.

import { createClient } from '@redis/client'
import { Redis } from 'ioredis'
import { RateLimiterRedis, RateLimiterRes, RateLimiterUnion } from 'rate-limiter-flexible'
import { deleteKeys } from '../delete-keys.js'
import { createRedkit } from '../redkit.js'
import type { BenchSuite } from './suite.js'

const KEY_COUNT = 1000
const CONCURRENCY = 100
/** Requests run outside the measured rounds to count the commands each side sends per request. */
const COUNTED_REQUESTS = 20_000

/** Per command name, its `calls=` in INFO commandstats. */
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats')
  const calls = new Map<string, number>()
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]))
  return calls
}

/** What the server did per request: round trips, and every command it ran (those inside scripts too). */
interface ServerWork {
  /** Commands sent by the client (EVALSHA, EVAL, ...): the round trips a request costs. */
  roundTrips: number
  /** Every command the server executed, counting the ones scripts ran. */
  commands: number
}

/**
 * Runs `operation` COUNTED_REQUESTS times, 100 at a time, and reads INFO commandstats around it.
 * Every side sends only scripts on these paths, so EVALSHA + EVAL are the round trips and the other
 * commands are the ones the scripts ran.
 */
async function serverWork(admin: Redis, operation: () => Promise<unknown>): Promise<ServerWork> {
  const before = await commandStats(admin)
  let left = COUNTED_REQUESTS
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await operation()
    }),
  )
  const after = await commandStats(admin)
  let scripts = 0
  let commands = 0
  for (const [name, calls] of after) {
    if (name === 'info') continue
    const delta = calls - (before.get(name) ?? 0)
    commands += delta
    if (name === 'evalsha' || name === 'eval') scripts += delta
  }
  return { roundTrips: scripts / COUNTED_REQUESTS, commands: commands / COUNTED_REQUESTS }
}

/** rate-limiter-flexible rejects with a RateLimiterRes; anything else is a real failure. */
function swallowRejection(error: unknown): void {
  if (!(error instanceof RateLimiterRes)) throw error
}

/** RateLimiterUnion rejects with an object of RateLimiterRes by key prefix. */
function swallowUnionRejection(error: unknown): void {
  if (typeof error !== 'object' || error === null || error instanceof Error) throw error
  if (!Object.values(error).every((value) => value instanceof RateLimiterRes)) throw error
}

export const ratelimitSuite: BenchSuite = {
  name: 'ratelimit',
  description:
    'limiter.consume vs rate-limiter-flexible on ioredis and node-redis, c=100 over 1,000 keys, blocked and over-the-limit keys, compound vs RateLimiterUnion',
  async setup({ url, keyPrefix }) {
    const kit = createRedkit({ url, app: 'bench', environment: {} })
    // As rate-limiter-flexible's README sets up its ioredis client.
    const client = new Redis(url, { enableOfflineQueue: false, lazyConnect: true })
    // And its node-redis client, as its docs show for the `redis` package v4+: created, then connected.
    const nodeRedis = createClient({ url })
    // Counts commands and deletes keys; not part of any side.
    const admin = new Redis(url, { lazyConnect: true })
    const close = async (): Promise<void> => {
      await kit.close()
      client.disconnect()
      if (nodeRedis.isOpen) await nodeRedis.close()
      await admin.quit().catch(() => admin.disconnect())
    }
    try {
      await Promise.all([client.connect(), nodeRedis.connect(), admin.connect(), kit.ready()])
    } catch (error) {
      await close()
      throw error
    }
    const run = keyPrefix.replace(/:$/, '')
    const keys = Array.from({ length: KEY_COUNT }, (_, i) => `client-${i}`)
    let next = 0
    const key = (): string => keys[next++ % KEY_COUNT]!

    // Allowed path: limits high enough that every consume passes for the whole run.
    const limiter = kit.limiter(`${run}-consume`, {
      algorithm: 'fixed-window',
      limit: 1_000_000_000,
      window: '1h',
    })
    const sliding = kit.limiter(`${run}-sliding`, {
      algorithm: 'sliding-window',
      limit: 1_000_000_000,
      window: '1h',
    })
    const flexible = new RateLimiterRedis({
      storeClient: client,
      keyPrefix: `${run}-rlf-consume`,
      points: 1_000_000_000,
      duration: 3600,
    })
    const flexibleNodeRedis = new RateLimiterRedis({
      storeClient: nodeRedis,
      useRedisPackage: true,
      keyPrefix: `${run}-rlf-node-redis-consume`,
      points: 1_000_000_000,
      duration: 3600,
    })

    // Rejected-and-blocked path: every key is over its limit and blocked for the whole run.
    const blocked = kit.limiter(`${run}-blocked`, {
      algorithm: 'fixed-window',
      limit: 1,
      window: '1h',
      blockFor: '1h',
    })
    const flexibleBlocked = new RateLimiterRedis({
      storeClient: client,
      keyPrefix: `${run}-rlf-blocked`,
      points: 1,
      duration: 3600,
      blockDuration: 3600,
      // rate-limiter-flexible's own in-process block, the feature that matches redkit's blocked cache.
      inMemoryBlockOnConsumed: 1,
      inMemoryBlockDuration: 3600,
    })
    for (const k of keys) {
      await blocked.consume(k)
      await blocked.consume(k)
      await flexibleBlocked.consume(k).catch(swallowRejection)
      await flexibleBlocked.consume(k).catch(swallowRejection)
    }
    const sample = await blocked.consume(keys[0]!)
    if (sample.allowed || !sample.blocked) throw new Error('setup: the blocked limiter does not block')

    // Compound of three limits (per minute, hour, day, all passing) vs RateLimiterUnion of the same three.
    const windows = [
      ['minute', 60],
      ['hour', 3600],
      ['day', 86_400],
    ] as const
    const compound = kit.compoundLimiter(
      windows.map(([name, seconds]) => ({
        limiter: kit.limiter(`${run}-compound-${name}`, {
          algorithm: 'fixed-window',
          limit: 1_000_000_000,
          window: seconds * 1000,
        }),
      })),
    )
    const union = new RateLimiterUnion(
      ...windows.map(
        ([name, seconds]) =>
          new RateLimiterRedis({
            storeClient: client,
            keyPrefix: `${run}-rlf-union-${name}`,
            points: 1_000_000_000,
            duration: seconds,
          }),
      ),
    )

    // Rejected but not blocked: every key is over its limit (no blockFor, no in-memory block on either side).
    const exceeded = kit.limiter(`${run}-exceeded`, { algorithm: 'fixed-window', limit: 1, window: '1h' })
    const flexibleExceeded = new RateLimiterRedis({
      storeClient: client,
      keyPrefix: `${run}-rlf-exceeded`,
      points: 1,
      duration: 3600,
    })
    for (const k of keys) {
      await exceeded.consume(k)
      await exceeded.consume(k)
      await flexibleExceeded.consume(k).catch(swallowRejection)
      await flexibleExceeded.consume(k).catch(swallowRejection)
    }
    const over = await exceeded.consume(keys[0]!)
    if (over.allowed || over.blocked) throw new Error('setup: the exceeded limiter does not refuse')

    const consumeRedkit = () => limiter.consume(key())
    const consumeSliding = () => sliding.consume(key())
    const consumeFlexible = () => flexible.consume(key())
    const consumeFlexibleNodeRedis = () => flexibleNodeRedis.consume(key())
    const blockedRedkit = () => blocked.consume(key())
    const blockedFlexible = () => flexibleBlocked.consume(key()).catch(swallowRejection)
    const compoundRedkit = () => {
      const k = key()
      return compound.consume([k, k, k])
    }
    const unionFlexible = () => union.consume(key()).catch(swallowUnionRejection)
    const exceededRedkit = () => exceeded.consume(key())
    const exceededFlexible = () => flexibleExceeded.consume(key()).catch(swallowRejection)

    const counted = [
      { name: 'consume', sides: [consumeRedkit, consumeFlexible, consumeFlexibleNodeRedis] },
      { name: 'sliding', sides: [consumeSliding, consumeFlexible, consumeFlexibleNodeRedis] },
      { name: 'blocked', sides: [blockedRedkit, blockedFlexible] },
      { name: 'compound', sides: [compoundRedkit, unionFlexible] },
      { name: 'exceeded', sides: [exceededRedkit, exceededFlexible] },
    ]
    const perRequest = ({ roundTrips, commands }: ServerWork): string =>
      `${roundTrips.toFixed(3)} round trips (${commands.toFixed(2)} server commands)`
    for (const { name, sides } of counted) {
      const work: ServerWork[] = []
      for (const side of sides) work.push(await serverWork(admin, side))
      const [ours, onIoredis, onNodeRedis] = work
      console.error(
        `bench: ratelimit ${name}: per request, redkit ${perRequest(ours!)}, ` +
          `rate-limiter-flexible on ioredis ${perRequest(onIoredis!)}` +
          (onNodeRedis ? `, on node-redis ${perRequest(onNodeRedis)}` : ''),
      )
    }

    const flexibleBaselines = [
      { name: 'rlf on ioredis', operation: consumeFlexible, target: 2 },
      { name: 'rlf on node-redis', operation: consumeFlexibleNodeRedis, target: 1.3 },
    ]
    return {
      cases: [
        {
          name: 'consume c=100',
          concurrency: CONCURRENCY,
          subject: consumeRedkit,
          baselines: flexibleBaselines,
        },
        {
          name: 'sliding c=100',
          concurrency: CONCURRENCY,
          subject: consumeSliding,
          baselines: flexibleBaselines,
        },
        {
          name: 'blocked c=100',
          concurrency: CONCURRENCY,
          subject: blockedRedkit,
          baselines: [{ name: 'rlf inMemoryBlock', operation: blockedFlexible }],
        },
        {
          name: 'compound 3 parts c=100',
          concurrency: CONCURRENCY,
          subject: compoundRedkit,
          baselines: [{ name: 'rlf RateLimiterUnion', operation: unionFlexible, target: 2.5 }],
        },
        {
          name: 'exceeded c=100',
          concurrency: CONCURRENCY,
          subject: exceededRedkit,
          baselines: [{ name: 'rlf rejected', operation: exceededFlexible, target: 5 }],
        },
      ],
      async teardown() {
        try {
          for (const pattern of [`${keyPrefix}*`, `bench:ratelimit:*`, `${run}-rlf-*`]) {
            await deleteKeys(admin, pattern)
          }
        } finally {
          await close()
        }
      },
    }
  },
}
