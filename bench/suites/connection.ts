// Suite `connection`: the cost of the store layer (circuit breaker, connection manager, command
// timeout) per command, measured against a bare auto-pipelined ioredis client on the same server.

import { Redis } from 'ioredis'
import { createRedkit } from '../../src/index.js'
import type { BenchSuite } from './suite.js'

// A typical small cached value: big enough to be a real payload, small enough that the bytes on
// the wire do not hide the per-command overhead this suite is about.
const SMALL_VALUE = 'v'.repeat(100)

export const connectionSuite: BenchSuite = {
  name: 'connection',
  description: 'GET/SET through kit.store vs raw ioredis (auto-pipelining), c=1 and c=100',
  async setup({ url, keyPrefix }) {
    // An empty environment: both sides connect with the url alone, even if REDIS_PASSWORD & co. are set.
    const kit = createRedkit({ url, app: 'bench', environment: {} })
    const redis = new Redis(url, { enableAutoPipelining: true, lazyConnect: true })
    const getKey = `${keyPrefix}connection:get`
    const storeSetKey = `${keyPrefix}connection:set:store`
    const rawSetKey = `${keyPrefix}connection:set:raw`
    try {
      await redis.connect()
      await kit.ready()
      await redis.set(getKey, SMALL_VALUE)
      // A GET that misses would measure a different reply; fail loudly rather than bench the wrong thing.
      if ((await kit.store.get(getKey)) !== SMALL_VALUE)
        throw new Error('setup: kit.store.get returned the wrong value')
    } catch (error) {
      redis.disconnect()
      await kit.close()
      throw error
    }

    const get = {
      subject: () => kit.store.get(getKey),
      baselineName: 'ioredis get',
      baseline: () => redis.get(getKey),
    }
    return {
      cases: [
        { name: 'get c=1', concurrency: 1, ...get },
        { name: 'get c=100', concurrency: 100, ...get },
        {
          name: 'set c=100',
          concurrency: 100,
          subject: () => kit.store.set(storeSetKey, SMALL_VALUE),
          baselineName: 'ioredis set',
          baseline: () => redis.set(rawSetKey, SMALL_VALUE),
        },
      ],
      async teardown() {
        try {
          await redis.del(getKey, storeSetKey, rawSetKey)
        } finally {
          await kit.close()
          await redis.quit().catch(() => redis.disconnect())
        }
      },
    }
  },
}
