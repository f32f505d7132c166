// Closing a kit while cache calls are still in flight (a shutdown under load): calls settle, nothing
// is left to reject unhandled (which would crash the process).

import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit } from '../../src/index.js'
import { startRedis, stopAllServers } from '../harness/index.js'

afterAll(() => stopAllServers())

describe('close under load', () => {
  it('a tagged getOrSet whose factory finishes after close() leaves no unhandled rejection', async () => {
    const server = await startRedis()
    const kit = createRedkit({ url: server.url, app: 'closing', environment: {} })
    await kit.ready()
    const cache = kit.cache<number>('c', { ttl: '1m' })
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      let release: () => void = () => {}
      const gate = new Promise<void>((resolve) => (release = resolve))
      const calls = Array.from({ length: 5 }, (_, i) =>
        cache
          .getOrSet(
            `k${i}`,
            async () => {
              await gate
              return i
            },
            { tags: ['closing-tag'] },
          )
          .then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          ),
      )
      // Let every call reach its factory before closing.
      await new Promise((resolve) => setTimeout(resolve, 50))
      const closed = kit.close()
      release()
      const settled = await Promise.all(calls)
      await closed
      // Give a stray rejection the turns it needs to be reported.
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(settled).toHaveLength(5)
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await server.stop()
    }
  })
})
