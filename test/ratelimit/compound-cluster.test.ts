// Compound limits across Cluster slots: the two-step reserve/commit path leaves nothing consumed when the
// process dies between the steps (a child SIGKILLed there), and a shared hash tag makes it one script.

import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import hashSlot from 'cluster-key-slot'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { KeyBuilder } from '../../src/keys/key-builder.js'
import { type RedisCluster, startCluster, stopAllServers, waitFor } from '../harness/index.js'

const WORKER = fileURLToPath(new URL('./fixtures/reserve-then-hang-worker.ts', import.meta.url))
const REGISTER = fileURLToPath(new URL('../../scripts/lua-loader.mjs', import.meta.url))

let cluster: RedisCluster
let kit: Redkit
let raw: Cluster
beforeAll(async () => {
  cluster = await startCluster()
  kit = createRedkit({ cluster: { nodes: cluster.nodes }, app: 'multi', environment: {} })
  raw = new Cluster(cluster.nodes)
})
afterAll(async () => {
  raw?.disconnect()
  await kit?.close()
  await cluster?.stop()
  await stopAllServers()
})

/** Three limiter names whose keys for `keys` land in three different slots. */
function spreadNames(keys: readonly string[]): string[] {
  const root = new KeyBuilder('multi:')
  for (;;) {
    const names = keys.map(() => `kill-${randomUUID().slice(0, 8)}`)
    const slots = names.map((name, i) => hashSlot(root.scope('ratelimit', name).tagged(keys[i]!)))
    if (new Set(slots).size === keys.length) return names
  }
}

describe('compound limits across Cluster slots', () => {
  it('a process killed between reserve and commit leaves no part consumed past the reservation', async () => {
    const keys = ['ip:10.0.0.1', 'user:7', 'route:/login']
    const names = spreadNames(keys)
    const reservationTtlMs = 600
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        REGISTER,
        WORKER,
        JSON.stringify({ cluster: cluster.nodes, names, keys, reservationTtlMs }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
      expect((await lines.next()).value).toBe('reserved')
      const killedAt = Date.now()
      child.kill('SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))

      const limiters = names.map((name) => kit.limiter(name, { limit: 1, window: '1h' }))
      const compound = kit.compoundLimiter(limiters.map((limiter) => ({ limiter })))
      const counters = names.map((name, i) =>
        new KeyBuilder('multi:').scope('ratelimit', name).tagged(keys[i]!),
      )
      // No counter was touched by the reservation, on any node.
      for (const key of counters) expect(await raw.exists(key)).toBe(0)
      // The reservation holds its units until it expires: a request now is refused...
      const during = await compound.consume(keys)
      if (Date.now() - killedAt < reservationTtlMs - 100) expect(during.allowed).toBe(false)
      // ...and passes once it expired by itself; then every part holds exactly that one request.
      const after = await waitFor(
        async () => {
          const result = await compound.consume(keys)
          return result.allowed ? result : undefined
        },
        { timeoutMs: 5000, intervalMs: 50, message: 'the dead reservation never expired' },
      )
      expect(Date.now() - killedAt).toBeLessThan(reservationTtlMs + 2000)
      expect(after?.parts.map((part) => part?.remaining)).toEqual([0, 0, 0])
      for (const [i, limiter] of limiters.entries()) {
        expect(await limiter.peek(keys[i]!)).toMatchObject({ allowed: false, remaining: 0 })
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })

  it('parts in several slots: all commit or none; a refusal releases the other reservations at once', async () => {
    const keys = ['ip:10.0.0.2', 'user:8', 'route:/pay']
    const names = spreadNames(keys)
    const [a, b, c] = names.map((name, i) => kit.limiter(name, { limit: i === 1 ? 1 : 5, window: '1h' }))
    const compound = kit.compoundLimiter([{ limiter: a! }, { limiter: b! }, { limiter: c! }])
    expect((await compound.consume(keys)).allowed).toBe(true)
    const refused = await compound.consume(keys)
    expect(refused).toMatchObject({ allowed: false, rejectedBy: 1 })
    // Released, not just left to expire: the other parts still have 4 and a request on them alone passes.
    expect(refused.parts[0]).toMatchObject({ allowed: true, remaining: 4 })
    const others = kit.compoundLimiter([{ limiter: a! }, { limiter: c! }])
    expect(await others.consume([keys[0]!, keys[2]!])).toMatchObject({ allowed: true, remaining: 3 })
    expect((await a!.peek(keys[0]!)).remaining).toBe(3)
  })
})
