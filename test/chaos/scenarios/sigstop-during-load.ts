// Scenario 2: the Redis server is frozen with SIGSTOP (it keeps its sockets but answers nothing) while
// the workload runs, then continued. Nobody may wait past the command timeout, and an open breaker is free.

import type { Redkit } from '../../../src/index.js'
import { createRedkit } from '../../../src/index.js'
import { startRedis, waitFor } from '../../harness/index.js'
import { startWorkload } from '../workload.js'
import { outageResult, waitForRecovery } from './outage-analysis.js'
import { pause, quantile, round, type ScenarioOptions, type ScenarioResult } from './scenario-result.js'

/** The command timeout the scenario runs with. */
export const SIGSTOP_COMMAND_TIMEOUT_MS = 500
/** How long each cache factory takes, so the breaker's own cost can be told apart from it. */
export const SIGSTOP_FACTORY_MS = 2

/** SIGSTOP for 10 s (3 s in the fast variant) under load, then SIGCONT. */
export async function sigstopDuringLoad(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const long = options.mode === 'long'
  const server = await startRedis()
  const kit = createRedkit({
    url: server.url,
    app: 'chaos-stop',
    commandTimeout: SIGSTOP_COMMAND_TIMEOUT_MS,
    environment: {},
  })
  try {
    await kit.ready()
    const load = await startWorkload(kit, { workers: 8, limit: 1_000_000, factoryMs: SIGSTOP_FACTORY_MS })
    await pause(long ? 3000 : 800)
    const faultAt = load.now()
    server.pause()
    let probe: { cacheP99: number; factoryP99: number; calls: number } | undefined
    try {
      const hangMs = long ? 10_000 : 3000
      await waitFor(() => kit.metrics().breaker.state === 'open', {
        timeoutMs: hangMs,
        message: 'breaker did not open while the server hung',
      })
      probe = await measureOpenBreaker(kit, 2000)
      await pause(Math.max(0, hangMs - (load.now() - faultAt)))
    } finally {
      server.resume()
    }
    const backAt = load.now()
    const recoveryMs = await waitForRecovery(load, backAt, 15_000)
    await pause(long ? 3000 : 800)
    const records = await load.stop()
    const sessions = await load.verifySessions()
    const result = outageResult(
      long ? 'SIGSTOP 10 s during load' : 'SIGSTOP 3 s during load',
      records,
      { faultAt, backAt, recoveryMs },
      sessions,
      [`commandTimeout ${SIGSTOP_COMMAND_TIMEOUT_MS} ms, breaker defaults, factory ${SIGSTOP_FACTORY_MS} ms`],
    )
    result.details.probeCacheP99Ms = round(probe.cacheP99)
    result.details.probeFactoryP99Ms = round(probe.factoryP99)
    result.details.probeCalls = probe.calls
    result.notes.unshift(
      `breaker open, ${probe.calls} sequential getOrSet misses: p99 ${round(probe.cacheP99)} ms, the bare factory p99 ${round(probe.factoryP99)} ms`,
      `cache call p99 over the factory's own time while the breaker was open: ${result.details.openCacheExtraP99Ms} ms (${result.details.openCacheCalls} calls)`,
    )
    result.details.breakerAfter = kit.metrics().breaker.state
    return result
  } finally {
    await kit.close()
    await server.stop()
  }
}

/**
 * What an open breaker costs a cache call: `calls` getOrSet misses in a row, each paired with a bare call
 * of the same factory (a microtask, so timer jitter does not hide the difference).
 */
async function measureOpenBreaker(
  kit: Redkit,
  calls: number,
): Promise<{ cacheP99: number; factoryP99: number; calls: number }> {
  const cache = kit.cache<{ n: number }>('open-breaker-probe', { ttl: '1m' })
  const factory = async () => ({ n: 1 })
  const cached: number[] = []
  const bare: number[] = []
  for (let i = 0; i < calls; i++) {
    let started = performance.now()
    await factory()
    bare.push(performance.now() - started)
    started = performance.now()
    await cache.getOrSet(`probe-${i}`, factory)
    cached.push(performance.now() - started)
  }
  return { cacheP99: quantile(cached, 0.99), factoryP99: quantile(bare, 0.99), calls }
}
