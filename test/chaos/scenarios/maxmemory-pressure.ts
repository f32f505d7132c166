// Scenario 3: Redis at maxmemory under write pressure. With allkeys-lru, evicted tag version keys must
// invalidate (never resurrect) their entries; with noeviction, reads go on and refused writes are counted.

import { type CacheMetricsSnapshot, createRedkit, type Redkit } from '../../../src/index.js'
import { type RedisServer, startRedis } from '../../harness/index.js'
import { pause, quantile, round, type ScenarioOptions, type ScenarioResult } from './scenario-result.js'

interface Row {
  key: string
  v: number
}

const FILLER = 'x'.repeat(4096)
// One round trip that says, key by key, whether each exists.
const EXISTS_EACH = "local r = {} for i, k in ipairs(KEYS) do r[i] = redis.call('EXISTS', k) end return r"

async function usedMemory(server: RedisServer): Promise<number> {
  const info = await server.cli('INFO', 'memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0)
}

async function stat(server: RedisServer, name: string): Promise<number> {
  const info = await server.cli('INFO', 'stats')
  return Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? 0)
}

function cacheMetrics(kit: Redkit, namespace: string): CacheMetricsSnapshot {
  return (kit.metrics().cache as Record<string, CacheMetricsSnapshot>)[namespace]!
}

/**
 * allkeys-lru: entries written as v1 under tags, the tags invalidated, half the rows rewritten as v2, then
 * filler writes push Redis over maxmemory so that it evicts (tag version keys included) while two
 * instances read the rows. A v1 read after the invalidation resolved is a stale value served.
 */
export async function maxmemoryEviction(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const long = options.mode === 'long'
  const server = await startRedis()
  // No sweeper: it would unlink the invalidated entries before eviction reaches their version keys.
  const common = {
    url: server.url,
    app: 'chaos-lru',
    commandTimeout: 1000,
    environment: {},
    tags: { reclaim: false },
  }
  const writer = createRedkit(common)
  const reader = createRedkit(common)
  try {
    const rows = writer.cache<Row>('rows', { ttl: '10m' })
    const readRows = reader.cache<Row>('rows', { ttl: '10m' })
    const filler = writer.cache<string>('filler', { ttl: '10m', compression: false })
    const count = 300
    const groups = 30
    const keys = Array.from({ length: count }, (_, i) => `r${i}`)
    const tagOf = (i: number) => `grp${i % groups}`
    for (let i = 0; i < count; i++) await rows.set(keys[i]!, { key: keys[i]!, v: 1 }, { tags: [tagOf(i)] })
    let warmHits = 0
    for (const key of keys) if ((await readRows.get(key))?.v === 1) warmHits++

    await writer.invalidateTags(Array.from({ length: groups }, (_, g) => `grp${g}`))
    const rewritten = new Set<string>()
    for (let i = 0; i < count; i += 2) {
      await rows.set(keys[i]!, { key: keys[i]!, v: 2 }, { tags: [tagOf(i)] })
      rewritten.add(keys[i]!)
    }
    // Every tag gets its version key back (a write under each), without reading the dead v1 rows
    // (a read would unlink them at once).
    for (let g = 0; g < groups; g++)
      await rows.set(`marker${g}`, { key: `marker${g}`, v: 2 }, { tags: [`grp${g}`] })
    // Past the in-process trust of tag versions, so the reader asks Redis (where eviction happens).
    await pause(150)

    const tagScope = writer.keys.scope('tag')
    const versionKeys = Array.from({ length: groups }, (_, g) => tagScope.tagged(`grp${g}`, 'v'))
    // The v1 entries are touched last, so LRU takes the (older) version keys first: the state where a
    // resurrection would happen if a recreated version could ever match an old entry.
    for (const key of keys) if (!rewritten.has(key)) await server.cli('GET', rows.keyOf(key))
    await server.setMaxmemory((await usedMemory(server)) + 2 * 1024 * 1024, 'allkeys-lru')

    let operations = 0
    let exceptions = 0
    let staleServed = 0
    let wrong = 0
    let maxWaitMs = 0
    const latencies: number[] = []
    const check = (key: string, row: Row | undefined) => {
      if (row === undefined) return
      if (row.key !== key) wrong++
      else if (row.v === 1) staleServed++
      else if (row.v === 2 && !rewritten.has(key)) wrong++
    }
    const timedCall = async (fn: () => Promise<void>) => {
      const started = performance.now()
      try {
        await fn()
      } catch {
        exceptions++
      }
      operations++
      const ms = performance.now() - started
      latencies.push(ms)
      maxWaitMs = Math.max(maxWaitMs, ms)
    }
    // Which v1 entries are still stored while the version key of their tag is gone.
    const hazard = async (): Promise<{ rows: number; versionsGone: number }> => {
      const probe = [...versionKeys, ...keys.map((key) => rows.keyOf(key))]
      const reply = await server.cli('EVAL', EXISTS_EACH, String(probe.length), ...probe)
      const exists = reply.split('\n').map(Number)
      const versionsGone = exists.slice(0, groups).filter((e) => e === 0).length
      let hazardous = 0
      for (let i = 0; i < count; i++) {
        if (!rewritten.has(keys[i]!) && exists[groups + i] === 1 && exists[i % groups] === 0) hazardous++
      }
      return { rows: hazardous, versionsGone }
    }

    const maxFillerWrites = long ? 40_000 : 8000
    let fillerWrites = 0
    let state = { rows: 0, versionsGone: 0 }
    let stopped = false
    // Reads under pressure, of other keys, so they do not touch the rows' LRU clocks.
    const pressureReads = (async () => {
      const fillerReads = reader.cache<string>('filler', { ttl: '10m', compression: false })
      for (let step = 0; !stopped; step++) {
        await timedCall(async () => {
          const value = await fillerReads.getOrSet(`f${step % 500}`, () => FILLER)
          if (value !== FILLER) wrong++
        })
      }
    })()
    while (fillerWrites < maxFillerWrites) {
      await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let i = w; i < 200; i += 4) {
            const n = fillerWrites + i
            await timedCall(() =>
              filler.set(`f${n}`, FILLER, n % 3 === 0 ? { tags: [`fill:${n % 50}`] } : {}),
            )
          }
        }),
      )
      fillerWrites += 200
      state = await hazard()
      if (state.rows > 0 && (await stat(server, 'evicted_keys')) > 0) break
    }
    stopped = true
    await pressureReads

    // Both instances and a fresh one (nothing cached in process) read every row.
    for (const cache of [rows, readRows]) {
      for (const key of keys) await timedCall(async () => check(key, await cache.get(key)))
    }
    // A fresh instance (nothing cached in process) reads every row once more.
    const late = createRedkit(common)
    const lateRows = late.cache<Row>('rows', { ttl: '10m' })
    for (const key of keys) await timedCall(async () => check(key, await lateRows.get(key)))
    await late.close()

    const evicted = await stat(server, 'evicted_keys')
    const served = { v2: 0, missing: 0 }
    for (const key of keys) {
      const row = await rows.get(key)
      if (row === undefined) served.missing++
      else if (row.v === 2) served.v2++
    }
    return {
      fault: 'maxmemory + allkeys-lru, tags invalidated',
      operations,
      exceptions,
      valuesLost: wrong,
      staleServed,
      recoveryMs: null,
      maxWaitMs: round(maxWaitMs),
      notes: [
        `${count} rows under ${groups} tags, all invalidated, ${rewritten.size} rewritten; ${fillerWrites} filler writes of 4 KiB over maxmemory`,
        `evicted_keys ${evicted}; when reads resumed ${state.versionsGone}/${groups} tag version keys were evicted and ${state.rows} invalidated v1 entries were still stored under them`,
        `rows at the end: ${served.v2} v2, ${served.missing} misses, 0 v1 allowed`,
        `call p99 ${round(quantile(latencies, 0.99))} ms`,
      ],
      details: {
        warmHits,
        evicted,
        versionsEvicted: state.versionsGone,
        hazardRows: state.rows,
        rewritten: rewritten.size,
        servedV2: served.v2,
      },
    }
  } finally {
    await Promise.all([writer.close(), reader.close()])
    await server.stop()
  }
}

/**
 * noeviction: Redis fills up and refuses writes with OOM. Cache writes are skipped and counted
 * (`refusedWrites`), getOrSet answers with the factory value, reads of what is stored keep working.
 */
export async function maxmemoryNoeviction(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const long = options.mode === 'long'
  const server = await startRedis()
  const kit = createRedkit({ url: server.url, app: 'chaos-full', commandTimeout: 1000, environment: {} })
  try {
    const cache = kit.cache<string>('full', { ttl: '10m', compression: false })
    const stored = Array.from({ length: 50 }, (_, i) => `kept${i}`)
    for (const key of stored) await cache.set(key, `value-${key}`)
    await server.setMaxmemory((await usedMemory(server)) + 1024 * 1024, 'noeviction')

    let operations = 0
    let exceptions = 0
    let wrong = 0
    let readsOk = 0
    let factoryAnswers = 0
    let maxWaitMs = 0
    const timedCall = async (fn: () => Promise<void>) => {
      const started = performance.now()
      try {
        await fn()
      } catch {
        exceptions++
      }
      operations++
      maxWaitMs = Math.max(maxWaitMs, performance.now() - started)
    }
    const writes = long ? 5000 : 1500
    for (let i = 0; i < writes; i++) {
      await timedCall(() => cache.set(`fill${i}`, `${i}:${FILLER}`))
      if (i % 10 === 0) {
        const key = stored[i % stored.length]!
        await timedCall(async () => {
          const value = await cache.get(key)
          if (value === `value-${key}`) readsOk++
          else wrong++
        })
        await timedCall(async () => {
          const value = await cache.getOrSet(`computed${i}`, () => `computed-${i}`)
          if (value === `computed-${i}`) factoryAnswers++
          else wrong++
        })
      }
    }
    const metrics = cacheMetrics(kit, 'full')
    const rejected = await stat(server, 'rejected_calls').catch(() => 0)
    return {
      fault: 'maxmemory + noeviction, writes refused',
      operations,
      exceptions,
      valuesLost: wrong,
      staleServed: 0,
      recoveryMs: null,
      maxWaitMs: round(maxWaitMs),
      notes: [
        `${writes} writes of 4 KiB past maxmemory: refusedWrites ${metrics.refusedWrites}, errors ${metrics.errors}`,
        `${readsOk} reads of stored entries answered, ${factoryAnswers} getOrSet answered with the factory value`,
      ],
      details: {
        refusedWrites: metrics.refusedWrites,
        readsOk,
        factoryAnswers,
        breakerAfter: kit.metrics().breaker.state,
        rejectedCalls: rejected,
      },
    }
  } finally {
    await kit.close()
    await server.stop()
  }
}
