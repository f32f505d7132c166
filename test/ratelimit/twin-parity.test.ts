// The JavaScript twins against their Lua on a real redis-server: the same random op sequences on both
// stores must give the same decisions (times may differ by the few ms between the two calls).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type RateLimitAlgorithm, type Redkit } from '../../src/index.js'
import type { Algorithm } from '../../src/ratelimit/algorithms/algorithm.js'
import {
  compoundScript,
  reserveScript,
  settleScript,
} from '../../src/ratelimit/algorithms/compound-script.js'
import { fixedWindow } from '../../src/ratelimit/algorithms/fixed-window.js'
import { opReplies, rateLimitScript, scriptArgs } from '../../src/ratelimit/algorithms/rate-limit-script.js'
import { slidingWindow } from '../../src/ratelimit/algorithms/sliding-window.js'
import { tokenBucket } from '../../src/ratelimit/algorithms/token-bucket.js'
import { MemoryStore } from '../../src/store/memory/memory-store.js'
import { type RedisServer, startRedis } from '../harness/index.js'

const ALGORITHMS: Record<RateLimitAlgorithm, Algorithm> = {
  'fixed-window': fixedWindow as Algorithm,
  'sliding-window': slidingWindow as Algorithm,
  'token-bucket': tokenBucket as Algorithm,
}

let server: RedisServer
let kit: Redkit
beforeAll(async () => {
  server = await startRedis()
  kit = createRedkit({ url: server.url, app: 'parity', environment: {} })
})
afterAll(async () => {
  await kit.close()
  await server.stop()
})

/** limit 10 per day (a window edge inside the test is then all but impossible), progressive block from 10 s. */
const SETTINGS = [10, 86_400_000, 0, 10_000, 2, 3_600_000, 86_400_000]

describe('twins give the replies of their Lua', () => {
  for (const [name, algorithm] of Object.entries(ALGORITHMS)) {
    it(name, async () => {
      const script = rateLimitScript(algorithm)
      const memory = new MemoryStore()
      kit.store.defineScript(script)
      memory.defineScript(script)
      let seed = 42
      const random = (n: number): number => {
        seed = (seed * 16807) % 2147483647
        return seed % n
      }
      try {
        for (let step = 0; step < 300; step++) {
          // A batch of 1 to 3 keys, each with 1 to 3 ops, like the batcher sends.
          const keys = [
            ...new Set(Array.from({ length: 1 + random(3) }, () => `parity:${name}:{k${random(4)}}`)),
          ]
          const ops = keys.map(() =>
            Array.from({ length: 1 + random(3) }, () => {
              const pick = random(20)
              if (pick < 12) return `c${1 + random(4)}`
              if (pick < 14) return 'p0'
              if (pick < 16) return `f${random(5) - 2}`
              if (pick < 17) return `b${random(2) * 60_000}`
              return pick < 18 ? 'r0' : 'c1'
            }).join(''),
          )
          const args = scriptArgs(SETTINGS, ops)
          const [fromRedis, fromMemory] = await Promise.all([
            kit.store.runScript(script.name, keys, args),
            memory.runScript(script.name, keys, args),
          ])
          const decode = (reply: unknown): number[] => opReplies(reply).flat()
          const a = decode(fromRedis)
          const b = decode(fromMemory)
          expect(a.length).toBe(b.length)
          for (let i = 0; i < a.length; i += 5) {
            const where = `step ${step}, ops ${ops.join(' ')}, reply ${i / 5}`
            // allowed, remaining and "blocked" exactly; the three durations within the clock gap.
            expect([a[i], a[i + 1], a[i + 4]! > 0], where).toEqual([b[i], b[i + 1], b[i + 4]! > 0])
            for (const field of [2, 3, 4])
              expect(Math.abs(a[i + field]! - b[i + field]!), where).toBeLessThan(50)
          }
        }
      } finally {
        await memory.close()
      }
    })
  }
})

describe('compound twins give the replies of their Lua', () => {
  it('compound, reserve and settle on random sequences over three algorithms', async () => {
    const memory = new MemoryStore()
    for (const script of [compoundScript, reserveScript, settleScript]) {
      kit.store.defineScript(script)
      memory.defineScript(script)
    }
    let seed = 7
    const random = (n: number): number => {
      seed = (seed * 16807) % 2147483647
      return seed % n
    }
    // Per part: algorithm, limit, window, count rejected, block ms, factor, cap, forget.
    const specs = [
      ['fixed-window', 6, 86_400_000, 0, 0, 2, 3_600_000, 86_400_000],
      ['sliding-window', 9, 86_400_000, 1, 0, 2, 3_600_000, 86_400_000],
      ['token-bucket', 5, 86_400_000, 0, 10_000, 2, 3_600_000, 86_400_000],
    ] as const
    const decode = (reply: unknown): number[] => opReplies(reply).flat()
    const same = (a: number[], b: number[], where: string) => {
      expect(a.length, where).toBe(b.length)
      for (let i = 0; i < a.length; i += 5) {
        expect([a[i], a[i + 1], a[i + 4]! > 0], where).toEqual([b[i], b[i + 1], b[i + 4]! > 0])
        for (const field of [2, 3, 4]) expect(Math.abs(a[i + field]! - b[i + field]!), where).toBeLessThan(50)
      }
    }
    try {
      for (let step = 0; step < 200; step++) {
        const client = random(3)
        const keys = specs.map((_, i) => `parity:compound:{p${i}c${client}}`)
        const args = specs.flatMap((spec) => [...spec, 1 + random(3)])
        const where = `step ${step}`
        if (random(3) > 0) {
          // One to three decisions in one call, as the batcher sends them (on the same or other clients).
          const decisions = Array.from({ length: 1 + random(3) }, () => random(3))
          const batchKeys = decisions.flatMap((c) => specs.map((_, i) => `parity:compound:{p${i}c${c}}`))
          const batchArgs = [
            specs.length,
            ...specs.flat(),
            ...decisions.flatMap(() => specs.map(() => 1 + random(3))),
          ]
          const replies = await Promise.all([
            kit.store.runScript(compoundScript.name, batchKeys, batchArgs),
            memory.runScript(compoundScript.name, batchKeys, batchArgs),
          ])
          same(decode(replies[0]), decode(replies[1]), where)
          continue
        }
        // Each part alone in its slot, as the two-step path sends them; commit or release at random.
        const id = `r${step}`
        const commit = random(2) === 1 ? '1' : '0'
        for (let i = 0; i < specs.length; i++) {
          const pair = [keys[i]!, `parity:holds:{p${i}c${client}}`]
          const partArgs = args.slice(i * 9, i * 9 + 9)
          const reserved = await Promise.all(
            [kit.store, memory].map((store) =>
              store.runScript(reserveScript.name, pair, [id, 60_000, ...partArgs]),
            ),
          )
          same(decode(reserved[0]), decode(reserved[1]), `${where} reserve ${i}`)
          const settled = await Promise.all(
            [kit.store, memory].map((store) =>
              store.runScript(settleScript.name, pair, [id, commit, ...partArgs]),
            ),
          )
          expect(settled[0], `${where} settle ${i}`).toEqual(settled[1])
        }
      }
    } finally {
      await memory.close()
    }
  })
})
