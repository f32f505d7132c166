// Suite `ratelimit`: kit.limiter().consume against rate-limiter-flexible 11 (RateLimiterRedis on ioredis,
// configured as its README shows) on the same server in the same run; also counts commands per request.

import { Redis } from 'ioredis'
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { createRedkit } from '../../src/index.js'
import { deleteKeys } from '../delete-keys.js'
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
 * Both sides send only scripts on these paths, so EVALSHA + EVAL are the round trips and the other
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

export const ratelimitSuite: BenchSuite = {
  name: 'ratelimit',
  description:
    'limiter.consume vs rate-limiter-flexible RateLimiterRedis, c=100 over 1,000 keys, and blocked keys',
  async setup({ url, keyPrefix }) {
    const kit = createRedkit({ url, app: 'bench', environment: {} })
    // As rate-limiter-flexible's README sets up its ioredis client.
    const client = new Redis(url, { enableOfflineQueue: false, lazyConnect: true })
    // Counts commands and deletes keys; not part of either side.
    const admin = new Redis(url, { lazyConnect: true })
    try {
      await Promise.all([client.connect(), admin.connect(), kit.ready()])
    } catch (error) {
      client.disconnect()
      admin.disconnect()
      await kit.close()
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

    const consumeRedkit = () => limiter.consume(key())
    const consumeSliding = () => sliding.consume(key())
    const consumeFlexible = () => flexible.consume(key())
    const blockedRedkit = () => blocked.consume(key())
    const blockedFlexible = () => flexibleBlocked.consume(key()).catch(swallowRejection)

    const work = {
      consume: [await serverWork(admin, consumeRedkit), await serverWork(admin, consumeFlexible)],
      sliding: [await serverWork(admin, consumeSliding), await serverWork(admin, consumeFlexible)],
      blocked: [await serverWork(admin, blockedRedkit), await serverWork(admin, blockedFlexible)],
    } as const
    for (const [name, [redkit, baseline]] of Object.entries(work)) {
      console.error(
        `bench: ratelimit ${name}: per request, redkit ${redkit.roundTrips.toFixed(3)} round trips (${redkit.commands.toFixed(2)} server commands), ` +
          `rate-limiter-flexible ${baseline.roundTrips.toFixed(3)} round trips (${baseline.commands.toFixed(2)} server commands)`,
      )
    }

    return {
      cases: [
        {
          name: 'consume c=100',
          concurrency: CONCURRENCY,
          subject: consumeRedkit,
          baselineName: 'rlf RateLimiterRedis',
          baseline: consumeFlexible,
        },
        {
          name: 'sliding c=100',
          concurrency: CONCURRENCY,
          subject: consumeSliding,
          baselineName: 'rlf RateLimiterRedis',
          baseline: consumeFlexible,
        },
        {
          name: 'blocked c=100',
          concurrency: CONCURRENCY,
          subject: blockedRedkit,
          baselineName: 'rlf inMemoryBlock',
          baseline: blockedFlexible,
        },
      ],
      async teardown() {
        try {
          for (const pattern of [`${keyPrefix}*`, `bench:ratelimit:*`, `${run}-rlf-*`]) {
            await deleteKeys(admin, pattern)
          }
        } finally {
          await kit.close()
          client.disconnect()
          await admin.quit().catch(() => admin.disconnect())
        }
      },
    }
  },
}
