// Each session-index and revocation script against its in-memory twin: the same calls on the embedded store
// and on a real redis-server must give identical replies and leave identical data.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { INDEX_PRUNE, INDEX_TRACK, sessionScripts } from '../../src/session/session-scripts.js'
import type { Store } from '../../src/store/store.js'
import { type RedisServer, startRedis } from '../harness/index.js'

type Call = [name: string, keys: string[], args: (string | number)[]]

const NOW = 1_700_000_000_000
const calls: Call[] = [
  [INDEX_TRACK, ['u:1'], ['b', NOW + 1000, NOW, 60_000]],
  [INDEX_TRACK, ['u:1'], ['a', NOW + 5000, NOW, 60_000]],
  [INDEX_TRACK, ['u:1'], ['c', NOW + 9000, NOW + 2000, 60_000]],
  [INDEX_TRACK, ['u:1'], ['b', NOW + 20_000, NOW + 6000, 60_000]],
  [INDEX_TRACK, ['u:1'], ['a', NOW + 7000, NOW + 10_000, 60_000]],
  [INDEX_PRUNE, ['u:1'], ['c', `${NOW + 9000}:${NOW + 2000}`, 'b', 'stale-value']],
  [INDEX_TRACK, ['u:2'], ['z', 0, NOW, 60_000]],
  ['revocation.raiseCutoff', ['c:1'], [100, 60_000]],
  ['revocation.raiseCutoff', ['c:1'], [50, 60_000]],
  ['revocation.raiseCutoff', ['c:1'], [200, 60_000]],
]

async function replay(kit: Redkit, prefix: string): Promise<unknown[]> {
  for (const script of sessionScripts) kit.store.defineScript(script)
  // Registers revocation.raiseCutoff on this store.
  kit.revocations({ cache: false })
  const replies: unknown[] = []
  for (const [name, keys, args] of calls) {
    replies.push(
      await kit.store.runScript(
        name,
        keys.map((key) => prefix + key),
        args,
      ),
    )
  }
  return replies
}

async function snapshot(store: Store, prefix: string): Promise<Record<string, unknown>> {
  const get = (key: string) => store.get(prefix + key)
  return {
    u1: await store.hgetall(`${prefix}u:1`),
    u2: await store.hgetall(`${prefix}u:2`),
    u2ttl: await store.pttl(`${prefix}u:2`),
    c1: await get('c:1'),
  }
}

describe('session and revocation scripts match their twins', () => {
  let server: RedisServer
  let redis: Redkit
  let memory: Redkit

  beforeAll(async () => {
    server = await startRedis()
    redis = createRedkit({ url: server.url, environment: {}, app: 'twins' })
    memory = createRedkit({ url: 'memory', environment: {}, app: 'twins' })
  })
  afterAll(async () => {
    await redis?.close()
    await memory?.close()
    await server?.stop()
  })

  it('gives identical replies and data', async () => {
    const onRedis = await replay(redis, 'twins:')
    const inMemory = await replay(memory, 'twins:')
    expect(inMemory).toEqual(onRedis)
    expect(await snapshot(memory.store, 'twins:')).toEqual(await snapshot(redis.store, 'twins:'))
    // Spot checks, so identical-but-wrong cannot pass.
    expect(onRedis[4]).toEqual(['a', `${NOW + 7000}:${NOW}`, 'c', `${NOW + 9000}:${NOW + 2000}`])
    expect(onRedis[5]).toBe(1)
    expect(onRedis.slice(-3)).toEqual(['100', '100', '200'])
  })
})
