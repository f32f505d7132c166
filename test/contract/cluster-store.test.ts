// The store contract on RedisStore against a real 6-node Redis Cluster: keys span every slot range.

import { randomUUID } from 'node:crypto'
import { createRedkit } from '../../src/index.js'
import { startCluster } from '../harness/index.js'
import { storeContract } from './store-contract.js'

storeContract('RedisStore (cluster)', async () => {
  const cluster = await startCluster()
  const kit = createRedkit({ cluster: { nodes: cluster.nodes }, app: 'contract' })
  return {
    store: kit.store,
    prefix: `contract:${randomUUID().slice(0, 8)}:`,
    async teardown() {
      await kit.close()
      await cluster.stop()
    },
  }
})
