// Fast variant of the CLIENT KILL scenario: the reader's command and pub/sub connections are killed
// (by name and by type) while a writer invalidates; nothing stays stale and single flight holds.

import { afterAll, describe, expect, it } from 'vitest'
import { stopAllServers } from '../harness/index.js'
import { clientKill } from './scenarios/client-kill.js'

afterAll(() => stopAllServers())

describe('CLIENT KILL of the command and subscriber connections', () => {
  it('loses no invalidation, resubscribes, surfaces nothing and keeps single flight', async () => {
    const result = await clientKill({ mode: 'fast' })
    const d = result.details
    expect(d.subscriberKills).toBeGreaterThan(0)
    expect(d.commandKills).toBeGreaterThan(0)
    // The subscriber came back (announced, so L1 was flushed) and delivers again.
    expect(d.reconnects).toBeGreaterThan(0)
    expect(d.invalidations).toBeGreaterThan(50)
    expect(result.staleServed).toBe(0)
    expect(d.rowsStaleAtEnd).toBe(0)
    expect(d.lateStale).toBe(0)
    expect(result.exceptions).toBe(0)
    expect(d.duplicateFactoryCalls).toBe(0)
    // A killed connection fails at once and reconnects; nobody waits for a timeout.
    expect(result.maxWaitMs).toBeLessThan(500)
  }, 30_000)
})
