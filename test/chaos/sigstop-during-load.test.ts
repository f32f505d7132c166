// Fast variant of the SIGSTOP scenario: a 3 s hang under load. No call waits past the command timeout,
// an open breaker adds under a millisecond to a cache call, and SIGCONT brings everything back.

import { afterAll, describe, expect, it } from 'vitest'
import { stopAllServers } from '../harness/index.js'
import { SIGSTOP_COMMAND_TIMEOUT_MS, sigstopDuringLoad } from './scenarios/sigstop-during-load.js'

afterAll(() => stopAllServers())

describe('SIGSTOP during load', () => {
  it('bounds every wait by the command timeout, costs nothing while open, and recovers on SIGCONT', async () => {
    const result = await sigstopDuringLoad({ mode: 'fast' })
    const d = result.details
    // The watchdog checks every tenth of the timeout, so it fires at most two checks late; the rest is
    // event-loop slack under load. (A SCAN used to reset it mid-hang: calls then waited ~1.5 timeouts.)
    expect(result.maxWaitMs).toBeLessThan(SIGSTOP_COMMAND_TIMEOUT_MS * 1.2 + 100)
    expect(result.exceptions).toBe(0)
    expect(d.cacheErrors).toBe(0)
    expect(d.openCacheCalls).toBeGreaterThan(100)
    // An open breaker costs a cache miss under a millisecond at p99 over its factory's own time.
    expect(d.probeCalls).toBe(2000)
    expect(Number(d.probeCacheP99Ms) - Number(d.probeFactoryP99Ms)).toBeLessThan(1)
    expect(d.denyAllowedWhileOpen).toBe(0)
    expect(d.denyCallsWhileOpen).toBeGreaterThan(10)
    expect(d.sessionUntypedErrors).toBe(0)
    expect(d.sessionErrorsDuringOutage).toBeGreaterThan(0)
    expect(result.recoveryMs!).toBeLessThan(3000)
    expect(d.sessionErrorsAfterRecovery).toBe(0)
    expect(d.cacheHitsAfterRecovery).toBeGreaterThan(0)
    expect(d.breakerAfter).toBe('closed')
    // A hang loses nothing: the server kept its data.
    expect(result.valuesLost).toBe(0)
  }, 30_000)
})
