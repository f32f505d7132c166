// Suite `http`: requests per second (autocannon) of an Express route answered from redkit's cacheResponse
// (L1 hit, and L2 hit from Redis) against the same route uncached, behind apicache 1.6 (memory), the same
// body sent from a constant, and prebuilt bytes. The app runs in its own process, autocannon in this one.

import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { Redis } from 'ioredis'
import { deleteKeys } from '../delete-keys.js'
import { median } from '../measure.js'
import type { BenchSuite, MeasuredCase } from './suite.js'

const CONNECTIONS = 50
/**
 * Requests in flight per connection. Without pipelining the load generator, on the same machine, tops out
 * before the server does and every side measures the same; with it the server is the bottleneck.
 */
const PIPELINING = 10
const PROFILES = {
  quick: { roundSeconds: 1, rounds: 5, warmupSeconds: 1 },
  full: { roundSeconds: 3, rounds: 8, warmupSeconds: 2 },
} as const

/** The routes measured, by side (see bench/http-app.ts). */
const ROUTES = {
  cached: '/cached',
  cachedL2: '/cached-l2',
  uncached: '/uncached',
  apicache: '/apicache',
  constant: '/constant',
  raw: '/raw',
} as const
type Side = keyof typeof ROUTES

interface App {
  url: string
  bytes: number
  child: ChildProcess
}

async function startApp(redisUrl: string, keyPrefix: string): Promise<App> {
  const app = fileURLToPath(new URL('../http-app.ts', import.meta.url))
  const loader = fileURLToPath(new URL('../../scripts/lua-loader.mjs', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', loader, app, redisUrl, keyPrefix], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  })
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`bench http app exited (${code}) before listening`))),
  )
  const lines = createInterface({ input: child.stdout! })
  const ready = new Promise<{ port: number; bytes: number }>((resolve) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as { port: number; bytes: number }))
  })
  const { port, bytes } = await Promise.race([ready, exited])
  exited.catch(() => {})
  return { url: `http://127.0.0.1:${port}`, bytes, child }
}

async function stopApp(app: App): Promise<void> {
  if (app.child.exitCode !== null) return
  const exited = new Promise<void>((resolve) => app.child.once('exit', () => resolve()))
  app.child.kill('SIGTERM')
  const timer = setTimeout(() => app.child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Requests per second of one autocannon run; a run with errors or non-2xx answers fails the suite. */
async function requestsPerSecond(url: string, seconds: number): Promise<number> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    pipelining: PIPELINING,
    duration: seconds,
  })
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(
      `${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`,
    )
  }
  return result.requests.total / result.duration
}

/** Checks that the cached sides are answered from their cache before they are measured. */
async function checkHits(base: string): Promise<void> {
  for (const path of [ROUTES.cached, ROUTES.cachedL2, ROUTES.apicache]) {
    await (await fetch(`${base}${path}`)).arrayBuffer()
  }
  const redkit = await fetch(`${base}${ROUTES.cached}`)
  const redkitL2 = await fetch(`${base}${ROUTES.cachedL2}`)
  const peer = await fetch(`${base}${ROUTES.apicache}`)
  const bodies = await Promise.all([redkit, redkitL2, peer].map((res) => res.text()))
  const reference = await (await fetch(`${base}${ROUTES.constant}`)).text()
  if (redkit.headers.get('x-cache') !== 'HIT' || redkitL2.headers.get('x-cache') !== 'HIT') {
    throw new Error('cacheResponse did not answer from its cache: the hit cases would measure misses')
  }
  if (peer.headers.get('apicache-store') === null) {
    throw new Error('apicache did not answer from its cache: its case would measure misses')
  }
  if (!bodies.every((body) => body === reference)) throw new Error('the routes do not send the same body')
}

/** Every side in alternating rounds after a warm-up of each; the median round of each counts. */
async function measureAll(base: string, quick: boolean): Promise<Record<Side, number>> {
  const profile = quick ? PROFILES.quick : PROFILES.full
  const sides = Object.keys(ROUTES) as Side[]
  await checkHits(base)
  for (const side of sides) await requestsPerSecond(`${base}${ROUTES[side]}`, profile.warmupSeconds)
  const rounds = Object.fromEntries(sides.map((side) => [side, [] as number[]])) as Record<Side, number[]>
  for (let round = 0; round < profile.rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse()
    for (const side of order) {
      rounds[side].push(await requestsPerSecond(`${base}${ROUTES[side]}`, profile.roundSeconds))
    }
  }
  await checkHits(base)
  const result = {} as Record<Side, number>
  for (const side of sides) result[side] = median(rounds[side])
  return result
}

export const httpSuite: BenchSuite = {
  name: 'http',
  description:
    'Express cacheResponse hits (autocannon) vs the uncached route, apicache 1.6 (memory) and a constant body',
  async setup({ url, keyPrefix }) {
    const app = await startApp(url, keyPrefix)
    let measured: Promise<Record<Side, number>> | undefined
    const all = (quick: boolean) => {
      measured ??= measureAll(app.url, quick)
      return measured
    }
    const load = `c=${CONNECTIONS} p=${PIPELINING}`
    const hit = `GET cacheResponse L1 hit (${(app.bytes / 1024).toFixed(1)} KB JSON) ${load}`
    const versus = (
      name: string,
      subject: Side,
      baseline: Side,
      baselineName: string,
      target?: number,
    ): MeasuredCase => ({
      name,
      baselineName,
      target,
      async measure({ quick }) {
        const results = await all(quick)
        return { opsPerSec: results[subject], baselineOpsPerSec: results[baseline] }
      },
    })
    return {
      cases: [
        versus(hit, 'cached', 'apicache', 'apicache 1.6 (memory) hit', 1.5),
        versus(hit, 'cached', 'constant', 'constant body (res.send)', 0.8),
        versus(hit, 'cached', 'uncached', 'uncached handler'),
        versus(hit, 'cached', 'raw', 'Express floor: prebuilt bytes, writeHead+end'),
        versus(`GET cacheResponse L2 hit (Redis) ${load}`, 'cachedL2', 'uncached', 'uncached handler'),
      ],
      async teardown() {
        await stopApp(app)
        const redis = new Redis(url)
        try {
          await deleteKeys(redis, `${keyPrefix}*`)
        } finally {
          redis.disconnect()
        }
      },
    }
  },
}
