// Scenario 1: the Redis server is killed with SIGKILL while the mixed workload runs, then restarted on
// the same port. The app is never restarted: it must degrade while Redis is gone and recover by itself.

import { createRedkit } from '../../../src/index.js'
import { startRedis } from '../../harness/index.js'
import { startWorkload } from '../workload.js'
import { outageResult, waitForRecovery } from './outage-analysis.js'
import { pause, type ScenarioOptions, type ScenarioResult } from './scenario-result.js'

/** The command timeout the scenario runs with. */
export const KILL_COMMAND_TIMEOUT_MS = 500

/**
 * kill -9 during load, restart, recovery. The server writes every acknowledged command to its
 * append-only file before replying (`appendfsync always`), so the restart brings the data back and an
 * acknowledged session that is missing afterwards is a real loss.
 */
export async function killDuringLoad(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const long = options.mode === 'long'
  const server = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
  const kit = createRedkit({
    url: server.url,
    app: 'chaos-kill',
    commandTimeout: KILL_COMMAND_TIMEOUT_MS,
    environment: {},
  })
  try {
    await kit.ready()
    const load = await startWorkload(kit, { workers: 8, limit: 1_000_000 })
    await pause(long ? 3000 : 800)
    const faultAt = load.now()
    await server.kill9()
    await pause(long ? 10_000 : 1500)
    await server.restart()
    const backAt = load.now()
    const recoveryMs = await waitForRecovery(load, backAt, 15_000)
    await pause(long ? 3000 : 800)
    const records = await load.stop()
    const sessions = await load.verifySessions()
    const result = outageResult('kill -9 during load', records, { faultAt, backAt, recoveryMs }, sessions, [
      `commandTimeout ${KILL_COMMAND_TIMEOUT_MS} ms, breaker defaults, appendfsync always`,
    ])
    result.details.breakerAfter = kit.metrics().breaker.state
    return result
  } finally {
    await kit.close()
    await server.stop()
  }
}
