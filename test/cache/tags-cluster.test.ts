// Tag invalidation on a real 6-node Redis Cluster: version keys, index sets and sweeps are
// single-slot operations, entry deletes are grouped by slot.

import { afterAll, beforeAll } from 'vitest'
import { createRedkit } from '../../src/index.js'
import { type RedisCluster, startCluster, stopAllServers } from '../harness/index.js'
import { tagSuite } from './tags-suite.js'

let cluster: RedisCluster
beforeAll(async () => {
  cluster = await startCluster()
}, 120_000)
afterAll(() => stopAllServers())

tagSuite('RedisStore (cluster)', async () => ({
  kit: (options) =>
    createRedkit({ cluster: { nodes: cluster.nodes }, app: 'tagtest', tags: { trust: options?.trust } }),
  shared: true,
  teardown: async () => {},
}))
