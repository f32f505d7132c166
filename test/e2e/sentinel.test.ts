// Sentinel mode end to end: redkit finds the master through a real sentinel, and follows a failover
// after the master is killed.

import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit } from '../../src/index.js'
import { startSentinel, stopAllServers, waitFor } from '../harness/index.js'

afterAll(() => stopAllServers())

describe('sentinel mode', () => {
  it('connects through the sentinel, then follows a failover', async () => {
    const password = 'sentinel-data-pw'
    const setup = await startSentinel({ password })
    const kit = createRedkit({
      sentinel: { sentinels: setup.sentinels, name: setup.name },
      password,
      app: 'sent',
      commandTimeout: 1000,
      breaker: { threshold: 1000 },
    })
    expect(kit.mode).toBe('sentinel')
    await kit.store.set('sent:k', 'v1')
    expect(await kit.store.get('sent:k')).toBe('v1')
    expect((await kit.health()).status).toBe('healthy')
    // Replication is asynchronous: wait until the replica has the key before killing the master.
    await waitFor(async () => (await setup.replica.cli('GET', 'sent:k')) === 'v1', {
      message: 'key not replicated',
    })

    await setup.master.kill9()
    await waitFor(
      async () => {
        await kit.store.set('sent:k', 'v2')
        return (await kit.store.get('sent:k')) === 'v2'
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'no writes after failover' },
    )
    expect(await setup.replica.cli('GET', 'sent:k')).toBe('v2')
    await kit.close()
    await setup.stop()
  }, 60_000)
})
