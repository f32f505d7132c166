// Suite `demo`: the demo app end to end, driven by a realistic mix for a fixed time with its caches off,
// then on, in the same run: database queries per 1,000 requests, latency per route, hit rate per tier.

import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { DemoServerRequest, DemoServerStats } from '../demo/demo-server.js'
import {
  HttpClient,
  type LoadShape,
  logIn,
  type PhaseResult,
  percentile,
  type RouteClass,
  runPhase,
} from '../demo/load.js'
import type { ReportSuite } from './suite.js'

/**
 * Per phase: a warm-up (caching on only) in steps until the database load settles (a step's queries per
 * 1,000 requests within 5% of the step before) or `warmup` has passed, the latency run at a fixed rate,
 * then the throughput run. A long-running app has its tail keys cached; a cold tail is start-up, not the
 * steady state the figures describe.
 */
const PHASE_MS = {
  full: { warmup: 120_000, warmupStep: 10_000, paced: 20_000, closed: 20_000 },
  quick: { warmup: 3_000, warmupStep: 3_000, paced: 5_000, closed: 5_000 },
}
const SETTLED = 0.05
const CONCURRENCY = 32
/** Users logged in: one admin per company. */
const USERS = 100
/** Vendor analytics dashboards open, each polled every second. */
const DASHBOARDS = 8
/** Requests per second of the latency run: well below what the uncached app serves, so nothing queues. */
const PACED_RATE = 150

/** Which cache namespaces make up each tier in the demo, and the hit rate aimed for. */
const TIERS: { tier: string; namespaces: string[]; target?: number }[] = [
  { tier: 'reference', namespaces: ['reference'], target: 0.9 },
  { tier: 'list', namespaces: ['orders-lists', 'products-lists'], target: 0.6 },
  { tier: 'detail', namespaces: ['products', 'orders'] },
  { tier: 'analytics', namespaces: ['vendor-analytics'], target: 0.8 },
  { tier: 'userContext', namespaces: ['user-context'] },
]
const ROUTES: RouteClass[] = ['detail', 'list', 'reference', 'userContext', 'session', 'analytics', 'write']

interface Phase {
  /** The fixed-rate run: latency. */
  paced: PhaseResult
  /** The closed-loop run: throughput, queries and hit rates are over both runs. */
  result: PhaseResult
  queries: number
  /** Queries by the kind of request that made them: `write`, `check` (the read after a write), `detail`... */
  queriesByClass: Record<string, number>
  caches: Record<string, { hits: number; misses: number }>
}

/** The demo server in a child process, spoken to over IPC. */
class DemoServer {
  readonly #child: ReturnType<typeof fork>
  constructor(redisUrl: string) {
    const script = fileURLToPath(new URL('../demo/demo-server.ts', import.meta.url))
    const root = fileURLToPath(new URL('../..', import.meta.url))
    this.#child = fork(script, [], {
      cwd: root,
      env: { ...process.env, REDIS_URL: redisUrl },
      execArgv: ['--import', 'tsx', '--import', './scripts/lua-loader.mjs'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
  }

  next<T>(type: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type: string }) => {
        if (message.type !== type) return
        this.#child.off('message', onMessage)
        this.#child.off('exit', onExit)
        resolve(message as T)
      }
      const onExit = (code: number | null) => reject(new Error(`demo server exited (${code})`))
      this.#child.on('message', onMessage)
      this.#child.once('exit', onExit)
    })
  }

  async ask<T>(request: DemoServerRequest, reply: string): Promise<T> {
    const answer = this.next<T>(reply)
    this.#child.send(request)
    return answer
  }

  async stop(): Promise<void> {
    // Already gone (it failed to start): nothing to ask.
    if (this.#child.exitCode !== null || !this.#child.connected) return
    const exited = new Promise((resolve) => this.#child.once('exit', resolve))
    this.#child.send({ type: 'stop' } satisfies DemoServerRequest)
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))])
    this.#child.kill('SIGKILL')
  }
}

function cacheCounters(metrics: Record<string, unknown>): Phase['caches'] {
  const caches = (metrics.cache ?? {}) as Record<string, { hits: number; misses: number }>
  return Object.fromEntries(
    Object.entries(caches).map(([name, counters]) => [
      name,
      { hits: counters.hits, misses: counters.misses },
    ]),
  )
}

async function measurePhase(
  server: DemoServer,
  client: HttpClient,
  users: Awaited<ReturnType<typeof logIn>>,
  caching: boolean,
  durations: (typeof PHASE_MS)['full'],
  log: (line: string) => void,
): Promise<Phase> {
  await server.ask({ type: 'caching', on: caching }, 'ok')
  const run = (shape: LoadShape, durationMs: number) =>
    runPhase(client, users, { ...shape, durationMs, dashboards: DASHBOARDS })
  const stats = async () => (await server.ask<{ stats: DemoServerStats }>({ type: 'stats' }, 'stats')).stats
  if (caching) {
    const until = performance.now() + durations.warmup
    let previous: number | undefined
    for (;;) {
      const start = await stats()
      const step = await run({ concurrency: CONCURRENCY }, durations.warmupStep)
      const perThousand = (((await stats()).queries - start.queries) / Math.max(1, step.requests)) * 1000
      log(`bench: warm-up step: ${perThousand.toFixed(1)} queries per 1000 requests`)
      const settled = previous !== undefined && Math.abs(perThousand - previous) <= previous * SETTLED
      if (settled || performance.now() >= until) break
      previous = perThousand
    }
  }
  const before = await stats()
  const paced = await run({ rate: PACED_RATE }, durations.paced)
  const result = await run({ concurrency: CONCURRENCY }, durations.closed)
  const after = await stats()
  const start = cacheCounters(before.metrics)
  const end = cacheCounters(after.metrics)
  const caches: Phase['caches'] = {}
  for (const [name, counters] of Object.entries(end)) {
    caches[name] = {
      hits: counters.hits - (start[name]?.hits ?? 0),
      misses: counters.misses - (start[name]?.misses ?? 0),
    }
  }
  const queriesByClass: Record<string, number> = {}
  for (const [label, count] of Object.entries(after.queriesByClass)) {
    queriesByClass[label] = count - (before.queriesByClass[label] ?? 0)
  }
  return { paced, result, queries: after.queries - before.queries, queriesByClass, caches }
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`
const ms = (value: number) => `${value.toFixed(2)} ms`
/** A relative drop as a signed change: 0.25 is -25.0%, -0.1 (a rise) is +10.0%. */
const drop = (fraction: number) => (fraction >= 0 ? `-${percent(fraction)}` : `+${percent(-fraction)}`)

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(rows[0]!), line(widths.map((width) => '-'.repeat(width))), ...rows.slice(1).map(line)].join(
    '\n',
  )
}

export const demoSuite: ReportSuite = {
  name: 'demo',
  description: 'the demo app end to end, caches off then on: database queries, latency per route, hit rates',
  async run(context, { quick, json }) {
    const durations = quick ? PHASE_MS.quick : PHASE_MS.full
    const log = (line: string) => {
      if (!json) console.error(line)
    }
    log('bench: starting the demo (seeding its database)...')
    const server = new DemoServer(context.url)
    try {
      const { port, database } = await server.next<{ port: number; database: string }>('listening')
      const client = new HttpClient(port, CONCURRENCY + DASHBOARDS)
      const users = await logIn(client, USERS)
      log(
        `bench: demo on ${database}; per phase ${durations.paced / 1000} s at ${PACED_RATE} req/s (latency), then ${durations.closed / 1000} s with ${CONCURRENCY} workers (throughput), as ${USERS} users, ${DASHBOARDS} dashboards polling; caching on after a warm-up of up to ${durations.warmup / 1000} s`,
      )
      log('bench: caching off ...')
      const off = await measurePhase(server, client, users, false, durations, log)
      log('bench: caching on ...')
      const on = await measurePhase(server, client, users, true, durations, log)
      client.close()
      report(off, on, database, json)
    } finally {
      await server.stop()
    }
  },
}

function report(off: Phase, on: Phase, database: string, json: boolean): void {
  const requests = (phase: Phase) => phase.paced.requests + phase.result.requests
  const perThousand = (phase: Phase) => (phase.queries / Math.max(1, requests(phase))) * 1000
  const writes = (phase: Phase) => phase.paced.latencies.write.length + phase.result.latencies.write.length
  const checks = (phase: Phase) => phase.paced.checks + phase.result.checks
  const classQueries = (phase: Phase, label: string) => phase.queriesByClass[label] ?? 0
  // Writes go to the database whatever the cache does, and the read that checks a write misses by design
  // (the write invalidated it): the other reads are what the cache can serve, though other writes may have
  // invalidated them too.
  const otherReads = (phase: Phase) =>
    phase.queries - classQueries(phase, 'write') - classQueries(phase, 'check')
  const readPerThousand = (phase: Phase) =>
    (otherReads(phase) / Math.max(1, requests(phase) - writes(phase) - checks(phase))) * 1000
  const readFewer = 1 - readPerThousand(on) / readPerThousand(off)
  const share = (phase: Phase, queries: number) =>
    ((queries / Math.max(1, requests(phase))) * 1000).toFixed(1)
  const rate = (phase: Phase) => phase.result.requests / (phase.result.durationMs / 1000)
  const fewer = 1 - perThousand(on) / perThousand(off)
  const rows: { metric: string; off: string; on: string; change: string; target: string; met?: boolean }[] = [
    {
      metric: 'requests/s',
      off: rate(off).toFixed(0),
      on: rate(on).toFixed(0),
      change: `${(rate(on) / rate(off)).toFixed(2)}x`,
      target: '',
    },
    {
      metric: 'db queries / 1000 req',
      off: perThousand(off).toFixed(1),
      on: perThousand(on).toFixed(1),
      change: drop(fewer),
      target: '>= 97% fewer',
      met: fewer >= 0.97,
    },
    {
      metric: '  of them for writes',
      off: share(off, classQueries(off, 'write')),
      on: share(on, classQueries(on, 'write')),
      change: '',
      target: '',
    },
    {
      metric: '  for reads checking a write',
      off: share(off, classQueries(off, 'check')),
      on: share(on, classQueries(on, 'check')),
      change: '',
      target: '',
    },
    {
      metric: '  for other reads',
      off: share(off, otherReads(off)),
      on: share(on, otherReads(on)),
      change: '',
      target: '',
    },
    {
      metric: 'db queries / 1000 reads that check no write',
      off: readPerThousand(off).toFixed(1),
      on: readPerThousand(on).toFixed(1),
      change: drop(readFewer),
      target: '',
    },
  ]
  for (const route of ROUTES) {
    const offP50 = percentile(off.paced.latencies[route], 0.5)
    const onP50 = percentile(on.paced.latencies[route], 0.5)
    const lower = 1 - onP50 / offP50
    const reads = route !== 'write' && route !== 'session'
    rows.push({
      metric: `${route} p50`,
      off: ms(offP50),
      on: ms(onP50),
      change: drop(lower),
      target: reads ? '>= 90% lower' : '',
      ...(reads ? { met: lower >= 0.9 } : {}),
    })
    rows.push({
      metric: `${route} p99`,
      off: ms(percentile(off.paced.latencies[route], 0.99)),
      on: ms(percentile(on.paced.latencies[route], 0.99)),
      change: '',
      target: '',
    })
  }
  rows.push({
    metric: 'errors',
    off: String(off.paced.errors + off.result.errors),
    on: String(on.paced.errors + on.result.errors),
    change: '',
    target: '0',
    met: off.paced.errors + off.result.errors + on.paced.errors + on.result.errors === 0,
  })
  rows.push({
    metric: 'stale reads after a write',
    off: `${off.paced.staleReads + off.result.staleReads} of ${off.paced.checks + off.result.checks}`,
    on: `${on.paced.staleReads + on.result.staleReads} of ${on.paced.checks + on.result.checks}`,
    change: '',
    target: '0',
    met: off.paced.staleReads + off.result.staleReads + on.paced.staleReads + on.result.staleReads === 0,
  })
  const tiers = TIERS.map(({ tier, namespaces, target }) => {
    let hits = 0
    let misses = 0
    for (const namespace of namespaces) {
      hits += on.caches[namespace]?.hits ?? 0
      misses += on.caches[namespace]?.misses ?? 0
    }
    const hitRate = hits + misses === 0 ? 0 : hits / (hits + misses)
    return { tier, hits, misses, hitRate, target, met: target === undefined ? undefined : hitRate >= target }
  })
  // The cheapest request with caching on: a reference read is Express, the session, the limiter and one L1
  // hit. No route's p50 goes below it, which bounds how much lower any p50 can get.
  const floor = percentile(on.paced.latencies.reference, 0.5)
  const reachable = ROUTES.filter((route) => route !== 'write' && route !== 'session').map((route) => ({
    route,
    lowest: 1 - floor / percentile(off.paced.latencies[route], 0.5),
  }))
  if (json) {
    console.log(
      JSON.stringify({ suite: 'demo', database, metric: 'latency floor', floorMs: floor, reachable }),
    )
    for (const row of rows) console.log(JSON.stringify({ suite: 'demo', database, ...row }))
    for (const tier of tiers) console.log(JSON.stringify({ suite: 'demo', database, ...tier }))
    return
  }
  const mark = (met: boolean | undefined) => (met === undefined ? '' : met ? 'met' : 'NOT MET')
  console.log(
    `demo on ${database}: ${requests(off)} requests with caching off, ${requests(on)} with it on; latency at ${PACED_RATE} req/s, requests/s with ${CONCURRENCY} workers`,
  )
  console.log(
    table([
      ['metric', 'caching off', 'caching on', 'change', 'target', ''],
      ...rows.map((row) => [row.metric, row.off, row.on, row.change, row.target, mark(row.met)]),
    ]),
  )
  console.log(
    `latency floor with caching on: ${ms(floor)} (reference p50); the most a p50 can drop to it: ${reachable
      .map(({ route, lowest }) => `${route} ${drop(lowest)}`)
      .join(', ')}`,
  )
  console.log('')
  console.log(
    table([
      ['tier (caching on)', 'hits', 'misses', 'hit rate', 'target', ''],
      ...tiers.map((tier) => [
        tier.tier,
        String(tier.hits),
        String(tier.misses),
        percent(tier.hitRate),
        tier.target === undefined ? '' : `>= ${percent(tier.target)}`,
        mark(tier.met),
      ]),
    ]),
  )
}
