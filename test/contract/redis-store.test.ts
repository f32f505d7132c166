// The store contract on RedisStore against a single real redis-server.

import { randomUUID } from 'node:crypto'
import { createRedkit } from '../../src/index.js'
import { startRedis } from '../harness/index.js'
import { storeContract } from './store-contract.js'

storeContract('RedisStore (single node)', async () => {
  const server = await startRedis()
  const kit = createRedkit({ url: server.url, app: 'contract' })
  return {
    store: kit.store,
    prefix: `contract:${randomUUID().slice(0, 8)}:`,
    async teardown() {
      await kit.close()
      await server.stop()
    },
  }
})
