// Scenario 6: `CLIENT KILL` of the command and pub/sub connections of a reader instance (by name, then
// by type) while a writer invalidates. No invalidation may be lost and single flight must hold.

import { createRedkit, type Redkit } from '../../../src/index.js'
import { type RedisServer, startRedis, waitFor } from '../../harness/index.js'
import { pause, quantile, round, type ScenarioOptions, type ScenarioResult } from './scenario-result.js'

/** Reads that still saw an invalidated value this long after the invalidation resolved count as lost. */
export const CLIENT_KILL_STALE_BOUND_MS = 2000

interface Item {
  key: string
  n: number
}

/** Ids of the clients whose name is `name` (CLIENT KILL has no name filter). */
async function clientIds(server: RedisServer, name: string): Promise<string[]> {
  const list = await server.cli('CLIENT', 'LIST')
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /^id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined)
}

async function killByName(server: RedisServer, name: string): Promise<number> {
  let killed = 0
  for (const id of await clientIds(server, name)) {
    killed += Number(await server.cli('CLIENT', 'KILL', 'ID', id).catch(() => '0'))
  }
  return killed
}

/** Kills the reader's connections in turn while a writer invalidates and readers read through L1. */
export async function clientKill(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const long = options.mode === 'long'
  const server = await startRedis()
  const common = { url: server.url, prefix: 'ck:', commandTimeout: 500, environment: {} }
  const reader = createRedkit({ ...common, app: 'reader' })
  const writer = createRedkit({ ...common, app: 'writer' })
  const cacheOptions = { ttl: '1m', l1: { max: 10_000 } }
  try {
    await Promise.all([reader.ready(), writer.ready()])
    const readCache = reader.cache<Item>('items', cacheOptions)
    const writeCache = writer.cache<Item>('items', cacheOptions)
    // Subscribers are up before the first write (an L1 copy is only as good as its subscription).
    await readCache.getOrSet('warm', () => ({ key: 'warm', n: 0 }))
    await writeCache.getOrSet('warm', () => ({ key: 'warm', n: 0 }))
    let reconnects = 0
    reader.bus.onReconnect(() => reconnects++)

    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
    // The "database": the writer bumps a row, then invalidates its cache entry (cache-aside).
    const db = new Map(keys.map((key) => [key, 0]))
    // When each row's latest invalidation resolved.
    const invalidatedAt = new Map<string, { n: number; at: number }>()
    const t0 = performance.now()
    const now = () => performance.now() - t0
    let stopped = false
    let operations = 0
    let exceptions = 0
    let transientStale = 0
    let lateStale = 0
    let maxWaitMs = 0
    const latencies: number[] = []
    const factoryCalls = new Map<string, number>()

    const readerLoop = async (worker: number) => {
      for (let step = 0; !stopped; step++) {
        const key = keys[(worker * 13 + step) % keys.length]!
        const started = now()
        const known = invalidatedAt.get(key)
        try {
          const item = await readCache.getOrSet(key, () => {
            factoryCalls.set(key, (factoryCalls.get(key) ?? 0) + 1)
            return { key, n: db.get(key)! }
          })
          if (known && item.n < known.n) {
            if (started - known.at > CLIENT_KILL_STALE_BOUND_MS) lateStale++
            else transientStale++
          }
        } catch {
          exceptions++
        }
        operations++
        const ms = now() - started
        latencies.push(ms)
        maxWaitMs = Math.max(maxWaitMs, ms)
        await pause(1)
      }
    }
    let invalidations = 0
    let invalidationRetries = 0
    const writerLoop = async () => {
      for (let step = 0; !stopped; step++) {
        const key = keys[step % keys.length]!
        const n = db.get(key)! + 1
        db.set(key, n)
        // The writer's own connection is killed too (TYPE normal): it retries until Redis confirms.
        for (;;) {
          try {
            await writeCache.delete(key)
            break
          } catch {
            invalidationRetries++
            await pause(20)
          }
        }
        invalidatedAt.set(key, { n, at: now() })
        invalidations++
        operations++
        await pause(5)
      }
    }
    const loops = [...Array.from({ length: 6 }, (_, i) => readerLoop(i)), writerLoop()]

    const kills: Record<string, number> = {}
    const rounds = long ? 30 : 6
    for (let round = 0; round < rounds; round++) {
      await pause(250)
      const which = ['reader:subscriber', 'reader:command', 'type normal', 'type pubsub'][round % 4]!
      const killed = which.startsWith('type')
        ? Number(await server.cli('CLIENT', 'KILL', 'TYPE', which.slice(5)))
        : await killByName(server, which)
      kills[which] = (kills[which] ?? 0) + killed
    }
    await pause(500)
    stopped = true
    await Promise.all(loops)

    // Single flight through a killed command connection: each burst of concurrent misses calls its factory once.
    const burstFactory = new Map<string, number>()
    let burstExceptions = 0
    const bursts = long ? 20 : 8
    for (let burst = 0; burst < bursts; burst++) {
      const key = `burst-${burst}`
      const calls = Array.from({ length: 20 }, () =>
        readCache
          .getOrSet(key, async () => {
            burstFactory.set(key, (burstFactory.get(key) ?? 0) + 1)
            await pause(30)
            return { key, n: burst }
          })
          .catch(() => {
            burstExceptions++
          }),
      )
      await pause(5)
      if (burst % 2 === 0) await killByName(server, 'reader:command')
      await Promise.all(calls)
    }
    const duplicateFactoryCalls = [...burstFactory.values()].reduce((sum, n) => sum + n - 1, 0)

    // After the dust settles: the reader's subscriber is back, so every row reads its latest version.
    await waitForBus(reader, writer)
    let lost = 0
    for (const key of keys) {
      const item = await readCache.get(key)
      if (item !== undefined && item.n < db.get(key)!) lost++
    }
    return {
      fault: 'CLIENT KILL (by name, TYPE normal/pubsub)',
      operations: operations + bursts * 20,
      exceptions: exceptions + burstExceptions,
      valuesLost: 0,
      staleServed: lost + lateStale,
      recoveryMs: null,
      maxWaitMs: round(maxWaitMs),
      notes: [
        `kills: ${Object.entries(kills)
          .map(([what, n]) => `${what} ${n}`)
          .join(', ')}; reader bus reconnects ${reconnects}`,
        `${invalidations} invalidations (${invalidationRetries} retried after the writer's connection was killed); ${transientStale} reads within ${CLIENT_KILL_STALE_BOUND_MS} ms of an invalidation still saw the old row, ${lateStale} later; ${lost} rows stale at the end`,
        `single flight: ${bursts} bursts of 20 concurrent misses, ${duplicateFactoryCalls} extra factory calls`,
        `read p99 ${round(quantile(latencies, 0.99))} ms`,
      ],
      details: {
        reconnects,
        invalidations,
        transientStale,
        lateStale,
        rowsStaleAtEnd: lost,
        duplicateFactoryCalls,
        bursts,
        subscriberKills: kills['reader:subscriber'] ?? 0,
        commandKills: kills['reader:command'] ?? 0,
      },
    }
  } finally {
    await Promise.all([reader.close(), writer.close()])
    await server.stop()
  }
}

/** Resolves once a message from `from` reaches `to`'s subscriber (it is connected and subscribed). */
async function waitForBus(to: Redkit, from: Redkit): Promise<void> {
  let seen = false
  const off = await waitFor(() => to.bus.subscribe('ck-probe', () => (seen = true)), {
    timeoutMs: 10_000,
    message: 'reader could not subscribe after the kills',
  })
  await waitFor(
    async () => {
      await from.bus.publish('ck-probe', 1)
      await pause(20)
      return seen
    },
    { timeoutMs: 10_000, message: 'bus did not deliver after the kills' },
  )
  await off()
}
