// Scenario 4: slots migrate between Cluster masters (`redis-cli --cluster reshard`) while cache, tag and
// limiter calls run. No invalidation or limiter count may be lost; ASK/MOVED/TRYAGAIN stay invisible.

import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createRedkit } from '../../../src/index.js'
import { startCluster, waitFor } from '../../harness/index.js'
import { pause, quantile, round, type ScenarioOptions, type ScenarioResult } from './scenario-result.js'

const run = promisify(execFile)

/** The command timeout the scenario runs with. */
export const RESHARD_COMMAND_TIMEOUT_MS = 1000

interface Row {
  key: string
  gen: number
}

/** Reshards `slots` slots twice (there and back) under load. */
export async function clusterReshard(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const long = options.mode === 'long'
  const slots = long ? 2000 : 400
  const cluster = await startCluster()
  const kit = createRedkit({
    cluster: { nodes: cluster.nodes },
    app: 'chaos-reshard',
    commandTimeout: RESHARD_COMMAND_TIMEOUT_MS,
    environment: {},
  })
  try {
    await kit.ready()
    const cache = kit.cache<Row>('rows', { ttl: '10m' })
    const limit = 1_000_000
    const limiter = kit.limiter('reshard', { algorithm: 'fixed-window', limit, window: '1h' })
    const tags = Array.from({ length: 10 }, (_, i) => `t${i}`)
    // The "database" generation of every tag's rows, bumped before each invalidation.
    const generation = new Map(tags.map((tag) => [tag, 0]))
    const invalidatedAt = new Map<string, { gen: number; at: number }>()
    const consumed = new Map<string, number>()
    const t0 = performance.now()
    const now = () => performance.now() - t0
    let stopped = false
    let operations = 0
    let exceptions = 0
    let stale = 0
    let wrong = 0
    let maxWaitMs = 0
    const latencies: number[] = []
    const outcomes = new Map<string, number>()
    const timedCall = async (fn: () => Promise<void>) => {
      const started = performance.now()
      try {
        await fn()
      } catch (error) {
        exceptions++
        outcomes.set(
          `error ${(error as Error).name}`,
          (outcomes.get(`error ${(error as Error).name}`) ?? 0) + 1,
        )
      }
      operations++
      const ms = performance.now() - started
      latencies.push(ms)
      maxWaitMs = Math.max(maxWaitMs, ms)
    }

    const worker = async (w: number) => {
      for (let step = 0; !stopped; step++) {
        const tag = tags[(w + step) % tags.length]!
        const key = `${tag}:r${(w * 31 + step) % 60}`
        const known = invalidatedAt.get(tag)
        if (step % 3 === 2) {
          const limiterKey = `w${w}:k${step % 20}`
          await timedCall(async () => {
            const result = await limiter.consume(limiterKey)
            if (result.allowed) consumed.set(limiterKey, (consumed.get(limiterKey) ?? 0) + 1)
            else wrong++
          })
        } else {
          await timedCall(async () => {
            const { value, outcome } = await cache.getOrSetWithOutcome(
              key,
              () => ({ key, gen: generation.get(tag)! }),
              { tags: [tag] },
            )
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
            if (value.key !== key) wrong++
            else if (known && value.gen < known.gen) stale++
          })
        }
        await pause(1)
      }
    }
    let invalidations = 0
    const invalidator = async () => {
      for (let step = 0; !stopped; step++) {
        const tag = tags[step % tags.length]!
        const gen = generation.get(tag)! + 1
        generation.set(tag, gen)
        for (;;) {
          try {
            await kit.invalidateTags([tag])
            break
          } catch {
            await pause(20)
          }
        }
        invalidatedAt.set(tag, { gen, at: now() })
        invalidations++
        await pause(20)
      }
    }
    const loops = [...Array.from({ length: 6 }, (_, w) => worker(w)), invalidator()]
    await pause(500)
    const started = performance.now()
    const masters = await cluster.masters()
    const ids = await Promise.all(masters.map((m) => m.cli('CLUSTER', 'MYID')))
    const moves: [number, number][] = [
      [0, 1],
      [1, 0],
    ]
    let reshardMs = 0
    try {
      for (const [from, to] of moves) {
        // A reshard refuses to start until every node agrees on the last one.
        await waitFor(
          async () => {
            const { stdout } = await run('redis-cli', [
              '--cluster',
              'check',
              `${masters[from]!.host}:${masters[from]!.port}`,
            ])
            return !/\[ERR\]|\[WARNING\]/.test(stdout)
          },
          { timeoutMs: 30_000, intervalMs: 200, message: 'cluster nodes never agreed on the slot layout' },
        )
        await run(
          'redis-cli',
          [
            '--cluster',
            'reshard',
            `${masters[from]!.host}:${masters[from]!.port}`,
            '--cluster-from',
            ids[from]!,
            '--cluster-to',
            ids[to]!,
            '--cluster-slots',
            String(slots),
            '--cluster-yes',
            '--cluster-pipeline',
            '10',
          ],
          { timeout: 120_000 },
        ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
          const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n')
          throw new Error(`redis-cli --cluster reshard failed: ${output || error.message}`)
        })
      }
      reshardMs = performance.now() - started
      await pause(500)
    } finally {
      stopped = true
      await Promise.all(loops)
    }

    // No limiter count lost: what Redis holds is exactly what the model counted as allowed.
    let countsLost = 0
    for (const [key, allowed] of consumed) {
      const peek = await limiter.peek(key)
      if (limit - peek.remaining !== allowed) countsLost++
    }
    // No invalidation lost: every row reads at its tag's latest generation (or is a miss).
    let lostInvalidations = 0
    for (const tag of tags) {
      for (let r = 0; r < 60; r++) {
        const row = await cache.get(`${tag}:r${r}`)
        if (row !== undefined && row.gen < generation.get(tag)!) lostInvalidations++
      }
    }
    return {
      fault: 'Cluster slot migration (reshard)',
      operations,
      exceptions,
      valuesLost: wrong + countsLost,
      staleServed: stale + lostInvalidations,
      recoveryMs: null,
      maxWaitMs: round(maxWaitMs),
      notes: [
        `${slots} slots moved master 1 -> 2 and back in ${Math.round(reshardMs)} ms; ${invalidations} tag invalidations meanwhile`,
        `cache outcomes: ${[...outcomes].map(([o, n]) => `${o} ${n}`).join(', ')}`,
        `${consumed.size} limiter keys compared with the model, ${countsLost} off; ${lostInvalidations} rows stale at the end`,
        `call p99 ${round(quantile(latencies, 0.99))} ms`,
      ],
      details: {
        invalidations,
        countsLost,
        lostInvalidations,
        limiterKeys: consumed.size,
        reshardMs: Math.round(reshardMs),
      },
    }
  } finally {
    await kit.close()
    await cluster.stop()
  }
}
