// Exactness across processes: 4 child processes fire 10 × limit consumes on the same keys at once, on a
// single redis-server and on a 6-node Cluster (hot keys on different nodes); exactly `limit` pass per key.

import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import hashSlot from 'cluster-key-slot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RateLimitAlgorithm } from '../../src/index.js'
import { KeyBuilder } from '../../src/keys/key-builder.js'
import {
  type RedisCluster,
  type RedisServer,
  startCluster,
  startRedis,
  stopAllServers,
} from '../harness/index.js'

const WORKER = fileURLToPath(new URL('./fixtures/consume-worker.ts', import.meta.url))
const REGISTER = fileURLToPath(new URL('../../scripts/lua-loader.mjs', import.meta.url))
const PROCESSES = 4
const LIMIT = 20
const ALGORITHMS: readonly RateLimitAlgorithm[] = ['fixed-window', 'sliding-window', 'token-bucket']

interface Target {
  url?: string
  cluster?: { host: string; port: number }[]
}

/** Starts the workers, waits until all are ready, starts them together and sums their counts per key. */
async function runWorkers(target: Target, algorithm: RateLimitAlgorithm, keys: string[], name: string) {
  const perKey = (10 * LIMIT) / PROCESSES
  const children: ChildProcess[] = []
  try {
    const outputs = Array.from({ length: PROCESSES }, () => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--import',
          REGISTER,
          WORKER,
          JSON.stringify({ ...target, name, algorithm, limit: LIMIT, keys, perKey }),
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      )
      children.push(child)
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
      const next = async (): Promise<string> => {
        const line = await lines.next()
        if (line.done) throw new Error('worker exited early')
        return line.value
      }
      return { child, next }
    })
    for (const { next } of outputs) expect(await next()).toBe('ready')
    for (const { child } of outputs) child.stdin!.write('go\n')
    const totals: Record<string, number> = {}
    for (const { next } of outputs) {
      const counts = JSON.parse(await next()) as Record<string, number>
      for (const [key, count] of Object.entries(counts)) totals[key] = (totals[key] ?? 0) + count
    }
    return totals
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill()
  }
}

describe('4 processes on a single redis-server', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server.stop()
  })

  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: exactly the limit passes per key, whatever the process`, async () => {
      const totals = await runWorkers({ url: server.url }, algorithm, ['hot', 'warm'], `mp-${randomUUID()}`)
      expect(totals).toEqual({ hot: LIMIT, warm: LIMIT })
    })
  }
})

describe('4 processes on a 6-node Cluster, hot keys on different masters', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await startCluster()
  })
  afterAll(async () => {
    await cluster.stop()
    await stopAllServers()
  })

  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: exactly the limit passes per key`, async () => {
      const name = `mp-${randomUUID()}`
      // Pick keys whose slots fall in the three thirds of the slot range (one master each).
      const keys = new KeyBuilder('multi:').scope('ratelimit', name)
      const chosen: string[] = []
      for (let i = 0; chosen.length < 3; i++) {
        const third = Math.floor(hashSlot(keys.tagged(`k${i}`)) / 5462)
        if (!chosen.some((key) => Math.floor(hashSlot(keys.tagged(key)) / 5462) === third))
          chosen.push(`k${i}`)
      }
      const totals = await runWorkers({ cluster: cluster.nodes }, algorithm, chosen, name)
      expect(totals).toEqual(Object.fromEntries(chosen.map((key) => [key, LIMIT])))
    })
  }
})
