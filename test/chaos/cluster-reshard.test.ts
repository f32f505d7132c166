// Fast variant of the Cluster reshard scenario: slots move between masters and back while cache, tag
// and limiter calls run; no invalidation or limiter count is lost and nothing waits past the timeout.

import { afterAll, describe, expect, it } from 'vitest'
import { stopAllServers } from '../harness/index.js'
import { clusterReshard, RESHARD_COMMAND_TIMEOUT_MS } from './scenarios/cluster-reshard.js'

afterAll(() => stopAllServers())

describe('Cluster slot migration under load', () => {
  it('keeps every invalidation and limiter count, within one command timeout', async () => {
    const result = await clusterReshard({ mode: 'fast' })
    const d = result.details
    expect(d.invalidations).toBeGreaterThan(20)
    expect(d.limiterKeys).toBeGreaterThan(10)
    expect(d.countsLost).toBe(0)
    expect(d.lostInvalidations).toBe(0)
    expect(result.staleServed).toBe(0)
    expect(result.valuesLost).toBe(0)
    expect(result.exceptions).toBe(0)
    expect(result.maxWaitMs).toBeLessThan(RESHARD_COMMAND_TIMEOUT_MS + 250)
  }, 90_000)
})
