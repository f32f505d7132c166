// The cache suite on a real 6-node Redis Cluster, and deletePattern over 50,000 keys spread over
// every master.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit } from '../../src/index.js'
import { type RedisCluster, startCluster, stopAllServers } from '../harness/index.js'
import { cacheSuite } from './cache-suite.js'

let cluster: RedisCluster
beforeAll(async () => {
  cluster = await startCluster()
}, 120_000)
afterAll(() => stopAllServers())

cacheSuite('RedisStore (cluster)', async () => {
  const kit = createRedkit({ cluster: { nodes: cluster.nodes }, app: 'cachetest' })
  return { kit, teardown: () => kit.close() }
})

describe('deletePattern on Cluster', () => {
  it('removes exactly the matching keys among 50,000', async () => {
    const kit = createRedkit({ cluster: { nodes: cluster.nodes }, app: 'bulk' })
    const cache = kit.cache('p', { ttl: '10m' })
    const batch = 5000
    for (let start = 0; start < 50_000; start += batch) {
      await cache.setMany(
        Array.from({ length: batch }, (_, j) => {
          const i = start + j
          return { key: [i % 5 === 0 ? 'match' : 'keep', i], value: i }
        }),
      )
    }
    expect(await cache.deletePattern('match:*')).toBe(10_000)
    let remaining = 0
    for (const master of await cluster.masters()) {
      const count = Number(
        await master.cli('EVAL', "return #redis.call('KEYS', ARGV[1])", '0', `${cache.keyPrefix}*`),
      )
      remaining += count
    }
    expect(remaining).toBe(40_000)
    expect(await cache.get(['keep', 1])).toBe(1)
    expect(await cache.get(['match', 5])).toBeUndefined()
    expect(await cache.clear()).toBe(40_000)
    await kit.close()
  }, 120_000)
})
