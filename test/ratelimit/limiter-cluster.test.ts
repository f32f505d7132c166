// The limiter suite on a real 6-node Redis Cluster: client keys hash to slots on every master, and
// one turn's decisions go out as one script call per slot.

import hashSlot from 'cluster-key-slot'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit } from '../../src/index.js'
import { type RedisCluster, startCluster } from '../harness/index.js'
import { limiterSuite } from './limiter-suite.js'

let started: Promise<RedisCluster> | undefined
const cluster = (): Promise<RedisCluster> => {
  started ??= startCluster()
  return started
}
afterAll(async () => {
  await (await started)?.stop()
})

limiterSuite('a 6-node Redis Cluster', async () => {
  const kit = createRedkit({ cluster: { nodes: (await cluster()).nodes }, app: 'rl', environment: {} })
  return { kit, teardown: () => kit.close() }
})

describe('Cluster placement', () => {
  it('hash slots match what Redis computes, hash tags included', async () => {
    const server = (await cluster()).servers[0]!
    for (const key of ['a', 'rl:{ip%3A1.2.3.4}', 'x{}y', '{user:42}:s', 'ünïcode{é}', 'p:{a}{b}']) {
      expect(hashSlot(key)).toBe(Number(await server.cli('CLUSTER', 'KEYSLOT', key)))
    }
  })

  it('the client keys of one limiter land on every master, and each key is limited exactly', async () => {
    const { nodes, servers } = await cluster()
    const kit = createRedkit({ cluster: { nodes }, app: 'rl', environment: {} })
    try {
      const limiter = kit.limiter('placement', { limit: 4, window: '1h' })
      const keys = Array.from({ length: 30 }, (_, i) => `client-${i}`)
      // Which master serves each key's slot, from CLUSTER SLOTS of one node.
      const slots = (await servers[0]!.cli('CLUSTER', 'SLOTS')).split('\n')
      const ranges: [number, number][] = []
      for (let i = 0; i + 1 < slots.length; i++) {
        const from = Number(slots[i])
        const to = Number(slots[i + 1])
        if (Number.isInteger(from) && Number.isInteger(to) && to >= from && to - from > 1000)
          ranges.push([from, to])
      }
      const owners = new Set(
        keys.map((key) => {
          const slot = hashSlot(kit.keys.scope('ratelimit', 'placement').tagged(key))
          return ranges.findIndex(([from, to]) => slot >= from && slot <= to)
        }),
      )
      expect(owners.size).toBe(3)
      const results = await Promise.all(
        keys.flatMap((key) => Array.from({ length: 10 }, () => limiter.consume(key))),
      )
      for (let k = 0; k < keys.length; k++) {
        expect(results.slice(k * 10, k * 10 + 10).filter((r) => r.allowed)).toHaveLength(4)
      }
    } finally {
      await kit.close()
    }
  })
})
