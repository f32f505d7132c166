// Suite `connection`: the cost of the store layer (circuit breaker, connection manager, command
// timeout) per command, against a bare node-redis client (the one underneath) and auto-pipelined ioredis.

import { createClient } from '@redis/client'
import { Redis } from 'ioredis'
import { createRedkit } from '../redkit.js'
import type { BenchSuite } from './suite.js'

// A typical small cached value: big enough to be a real payload, small enough that the bytes on
// the wire do not hide the per-command overhead this suite is about.
const SMALL_VALUE = 'v'.repeat(100)

/** The store may cost at most 10% against the client it runs on. */
const STORE_TARGET = 0.9

export const connectionSuite: BenchSuite = {
  name: 'connection',
  description: 'GET/SET through kit.store vs raw node-redis and raw ioredis (auto-pipelined), c=1 and c=100',
  async setup({ url, keyPrefix }) {
    // An empty environment: every side connects with the url alone, even if REDIS_PASSWORD & co. are set.
    const kit = createRedkit({ url, app: 'bench', environment: {} })
    // node-redis pipelines whatever is queued before its next write on its own: no option needed.
    const nodeRedis = createClient({ url })
    const ioredis = new Redis(url, { enableAutoPipelining: true, lazyConnect: true })
    const getKey = `${keyPrefix}connection:get`
    const setKeys = {
      store: `${keyPrefix}connection:set:store`,
      nodeRedis: `${keyPrefix}connection:set:node-redis`,
      ioredis: `${keyPrefix}connection:set:ioredis`,
    }
    const close = async (): Promise<void> => {
      await kit.close()
      if (nodeRedis.isOpen) await nodeRedis.close()
      await ioredis.quit().catch(() => ioredis.disconnect())
    }
    try {
      await Promise.all([nodeRedis.connect(), ioredis.connect(), kit.ready()])
      await nodeRedis.set(getKey, SMALL_VALUE)
      // A GET that misses would measure a different reply; fail loudly rather than bench the wrong thing.
      for (const read of [kit.store.get(getKey), ioredis.get(getKey)]) {
        if ((await read) !== SMALL_VALUE) throw new Error('setup: a side read the wrong value back')
      }
    } catch (error) {
      await close()
      throw error
    }

    const get = {
      subject: () => kit.store.get(getKey),
      baselines: [
        { name: 'node-redis get', operation: () => nodeRedis.get(getKey), target: STORE_TARGET },
        { name: 'ioredis get', operation: () => ioredis.get(getKey) },
      ],
    }
    return {
      cases: [
        { name: 'get c=1', concurrency: 1, ...get },
        { name: 'get c=100', concurrency: 100, ...get },
        {
          name: 'set c=100',
          concurrency: 100,
          subject: () => kit.store.set(setKeys.store, SMALL_VALUE),
          baselines: [
            {
              name: 'node-redis set',
              operation: () => nodeRedis.set(setKeys.nodeRedis, SMALL_VALUE),
              target: STORE_TARGET,
            },
            { name: 'ioredis set', operation: () => ioredis.set(setKeys.ioredis, SMALL_VALUE) },
          ],
        },
      ],
      async teardown() {
        try {
          await nodeRedis.del([getKey, ...Object.values(setKeys)])
        } finally {
          await close()
        }
      },
    }
  },
}
