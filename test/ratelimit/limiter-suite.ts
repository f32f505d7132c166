// The behaviour every rate limiter must show, as one vitest suite run on the embedded store, a single
// redis-server and a 6-node Cluster: exact under concurrency, rejected requests free, blocks, admin ops.

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RateLimitAlgorithm, Redkit } from '../../src/index.js'
import { waitFor } from '../harness/wait-for.js'

/** What a suite run needs: a kit on the store under test and how to clean up. */
export interface LimiterSuiteSetup {
  kit: Redkit
  teardown(): Promise<void>
}

const ALGORITHMS: readonly RateLimitAlgorithm[] = ['fixed-window', 'sliding-window', 'token-bucket']

/** Registers the limiter suite under `title`; `setup` runs once for the file. */
export function limiterSuite(title: string, setup: () => Promise<LimiterSuiteSetup>): void {
  describe(`rate limiter on ${title}`, () => {
    let kit: Redkit
    let done: LimiterSuiteSetup | undefined
    // Names unique per run, so a shared server never mixes runs.
    const unique = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`

    beforeAll(async () => {
      done = await setup()
      kit = done.kit
    })
    afterAll(async () => {
      await done?.teardown()
    })

    for (const algorithm of ALGORITHMS) {
      describe(algorithm, () => {
        it('allows exactly the limit out of 10 × limit concurrent consumes, and other keys keep theirs', async () => {
          // A long window: refills during the test would make "exactly" depend on timing.
          const limiter = kit.limiter(unique('exact'), { algorithm, limit: 25, window: '1h' })
          const results = await Promise.all(Array.from({ length: 250 }, () => limiter.consume('hot')))
          expect(results.filter((r) => r.allowed)).toHaveLength(25)
          const remaining = results.filter((r) => r.allowed).map((r) => r.remaining)
          expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i))
          for (const rejected of results.filter((r) => !r.allowed)) {
            expect(rejected.remaining).toBe(0)
            expect(rejected.retryAfterMs).toBeGreaterThan(0)
            expect(rejected.blocked).toBe(false)
          }
          const other = await limiter.consume('cold')
          expect(other).toMatchObject({ allowed: true, remaining: 24, limit: 25 })
        })

        it('decides many keys in one turn exactly, each key on its own (keys spread over slots)', async () => {
          const limiter = kit.limiter(unique('spread'), { algorithm, limit: 3, window: '1h' })
          const keys = Array.from({ length: 40 }, (_, i) => `client-${i}`)
          const results = await Promise.all(
            keys.flatMap((key) => [1, 2, 3, 4, 5].map(() => limiter.consume(key))),
          )
          for (let k = 0; k < keys.length; k++) {
            const mine = results.slice(k * 5, k * 5 + 5)
            expect(mine.map((r) => r.allowed)).toEqual([true, true, true, false, false])
          }
        })

        it('does not count rejected requests, unless countRejected is set', async () => {
          const free = kit.limiter(unique('free'), { algorithm, limit: 2, window: '1h' })
          for (let i = 0; i < 2; i++) expect((await free.consume('k')).allowed).toBe(true)
          for (let i = 0; i < 5; i++) expect((await free.consume('k')).allowed).toBe(false)
          await free.reward('k', 1)
          expect((await free.consume('k')).allowed).toBe(true)

          const counted = kit.limiter(unique('counted'), {
            algorithm,
            limit: 2,
            window: '1h',
            countRejected: true,
          })
          for (let i = 0; i < 2; i++) expect((await counted.consume('k')).allowed).toBe(true)
          for (let i = 0; i < 5; i++) expect((await counted.consume('k')).allowed).toBe(false)
          await counted.reward('k', 1)
          expect((await counted.consume('k')).allowed).toBe(false)
        })

        it('peek takes nothing; penalty takes beyond the limit; reward gives back; reset forgets', async () => {
          const limiter = kit.limiter(unique('admin'), { algorithm, limit: 5, window: '1h' })
          expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 5 })
          await limiter.consume('k', 2)
          expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 3 })
          expect(await limiter.peek('k')).toMatchObject({ remaining: 3 })
          const penalised = await limiter.penalty('k', 10)
          expect(penalised).toMatchObject({ allowed: false, remaining: 0 })
          expect(penalised.retryAfterMs).toBeGreaterThan(0)
          expect((await limiter.consume('k')).allowed).toBe(false)
          await limiter.reward('k', 11)
          expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 4 })
          await limiter.reset('k')
          expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 5 })
        })

        it('a costly consume takes its cost, and is rejected whole when it does not fit', async () => {
          const limiter = kit.limiter(unique('cost'), { algorithm, limit: 10, window: '1h' })
          expect(await limiter.consume('k', 7)).toMatchObject({ allowed: true, remaining: 3 })
          expect(await limiter.consume('k', 4)).toMatchObject({ allowed: false, remaining: 3 })
          expect(await limiter.consume('k', 3)).toMatchObject({ allowed: true, remaining: 0 })
        })
      })
    }

    it('blocks after abuse, progressively, and answers blocked keys without a round trip', async () => {
      const limiter = kit.limiter(unique('block'), {
        limit: 1,
        window: '1h',
        blockFor: { duration: 150, multiplier: 2, max: 500 },
      })
      expect((await limiter.consume('k')).allowed).toBe(true)
      const first = await limiter.consume('k')
      expect(first).toMatchObject({ allowed: false, blocked: true, retryAfterMs: 150 })

      // Blocks are cached once the limiter listens for other instances' unblocks (at once in memory).
      await waitFor(
        async () => {
          const before = limiter.metrics().storeCalls
          await limiter.consume('k')
          return limiter.metrics().storeCalls === before
        },
        { timeoutMs: 3000, message: 'block never cached' },
      )
      const calls = limiter.metrics().storeCalls
      const cached = await Promise.all(Array.from({ length: 50 }, () => limiter.consume('k')))
      expect(cached.every((r) => !r.allowed && r.blocked)).toBe(true)
      expect(limiter.metrics().storeCalls).toBe(calls)
      expect(limiter.metrics().blockedCacheHits).toBeGreaterThanOrEqual(50)

      // Once the block ends, the next excess is a second strike: twice as long; then the cap.
      const second = await waitFor(
        async () => {
          const r = await limiter.consume('k')
          return r.retryAfterMs > 150 ? r : undefined
        },
        { timeoutMs: 3000, intervalMs: 20, message: 'second block' },
      )
      expect(second).toMatchObject({ allowed: false, blocked: true, retryAfterMs: 300 })
      const third = await waitFor(
        async () => {
          const r = await limiter.consume('k')
          return r.retryAfterMs > 300 ? r : undefined
        },
        { timeoutMs: 3000, intervalMs: 20, message: 'third block' },
      )
      expect(third?.retryAfterMs).toBe(500)
      expect(limiter.metrics().rejected).toBeGreaterThan(50)
    })

    it('block() blocks a key for a duration, block(key, 0) lifts it, reset() forgets it', async () => {
      const limiter = kit.limiter(unique('manual'), { algorithm: 'token-bucket', limit: 5, window: '1m' })
      await limiter.block('k', '10m')
      const blocked = await limiter.consume('k')
      expect(blocked).toMatchObject({ allowed: false, blocked: true })
      expect(blocked.retryAfterMs).toBeGreaterThan(590_000)
      expect((await limiter.peek('k')).blocked).toBe(true)
      await limiter.block('k', 0)
      expect((await limiter.consume('k')).allowed).toBe(true)
      await limiter.block('k', '10m')
      await limiter.reset('k')
      expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 4 })
      expect((await limiter.consume('other')).allowed).toBe(true)
    })

    it('keys of different limiters and odd characters stay apart', async () => {
      const a = kit.limiter(unique('a'), { limit: 1, window: '1h' })
      const b = kit.limiter(unique('b'), { limit: 1, window: '1h' })
      expect((await a.consume('{x}:y*')).allowed).toBe(true)
      expect((await b.consume('{x}:y*')).allowed).toBe(true)
      expect((await a.consume('{x}:y*')).allowed).toBe(false)
      expect((await a.consume('{x}:y')).allowed).toBe(true)
    })

    it('state expires with the window: fixed window opens again after it', async () => {
      const limiter = kit.limiter(unique('expiry'), { algorithm: 'fixed-window', limit: 1, window: 200 })
      expect((await limiter.consume('k')).allowed).toBe(true)
      const rejected = await limiter.consume('k')
      expect(rejected.allowed).toBe(false)
      expect(rejected.retryAfterMs).toBeLessThanOrEqual(200)
      await waitFor(async () => (await limiter.consume('k')).allowed, {
        timeoutMs: 3000,
        message: 'window reset',
      })
    })
  })
}
