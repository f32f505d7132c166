// Fast variant of the kill -9 scenario: asserts what callers saw while Redis was killed under load
// and that the app recovered without a restart (the long variant runs in `npm run chaos`).

import { afterAll, describe, expect, it } from 'vitest'
import { stopAllServers } from '../harness/index.js'
import { KILL_COMMAND_TIMEOUT_MS, killDuringLoad } from './scenarios/kill-during-load.js'

afterAll(() => stopAllServers())

describe('kill -9 during load', () => {
  it('degrades without exceptions, fails sessions cleanly, follows each limiter policy and recovers', async () => {
    const result = await killDuringLoad({ mode: 'fast' })
    const d = result.details
    // Cache calls answered (factory or grace) the whole time; nothing surfaced.
    expect(result.exceptions).toBe(0)
    expect(d.cacheErrors).toBe(0)
    expect(d.cacheCallsDuringOutage).toBeGreaterThan(50)
    expect(d.cacheFactoryOrGraceDuringOutage).toBe(d.cacheCallsDuringOutage)
    // 'deny' rejects everything while the breaker is open; 'insurance' keeps allowing (in process).
    expect(d.limiterErrors).toBe(0)
    expect(d.denyCallsWhileOpen).toBeGreaterThan(10)
    expect(d.denyAllowedWhileOpen).toBe(0)
    expect(d.insuranceCallsWhileOpen).toBeGreaterThan(10)
    expect(d.insuranceAllowedWhileOpen).toBe(d.insuranceCallsWhileOpen)
    // Sessions fail with typed errors, never hang, never fake.
    expect(d.sessionErrorsDuringOutage).toBeGreaterThan(0)
    expect(d.sessionUntypedErrors).toBe(0)
    expect(String(d.sessionErrorClasses).split(',')).toEqual(
      expect.arrayContaining([expect.stringMatching(/RedisUnavailableError|CommandTimeoutError/)]),
    )
    expect(d.sessionMaxWaitMs).toBeLessThan(KILL_COMMAND_TIMEOUT_MS + 250)
    expect(result.maxWaitMs).toBeLessThan(KILL_COMMAND_TIMEOUT_MS + 250)
    // Recovery without restarting the app: sessions work again, the cache reads Redis again.
    expect(result.recoveryMs).not.toBeNull()
    expect(result.recoveryMs!).toBeLessThan(3000)
    expect(d.sessionOkAfterRecovery).toBeGreaterThan(0)
    expect(d.sessionErrorsAfterRecovery).toBe(0)
    expect(d.cacheHitsAfterRecovery).toBeGreaterThan(0)
    expect(d.breakerAfter).toBe('closed')
    // Every acknowledged session write is still there (appendfsync always), no wrong answer.
    expect(d.sessionsChecked).toBeGreaterThan(0)
    expect(result.valuesLost).toBe(0)
  }, 30_000)
})
