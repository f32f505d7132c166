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

    describe('compound limits', () => {
      /** Three parts on three algorithms; 1,000 concurrent requests from 10 IPs and 3 users on one route. */
      async function storm(hashTag?: string) {
        const perIp = kit.limiter(unique('c-ip'), { algorithm: 'fixed-window', limit: 40, window: '1h' })
        const perUser = kit.limiter(unique('c-user'), { algorithm: 'token-bucket', limit: 120, window: '1h' })
        const perRoute = kit.limiter(unique('c-route'), {
          algorithm: 'sliding-window',
          limit: 1000,
          window: '1d',
        })
        const compound = kit.compoundLimiter(
          [{ limiter: perIp, name: 'ip' }, { limiter: perUser, name: 'user' }, { limiter: perRoute }],
          hashTag === undefined ? {} : { hashTag },
        )
        const requests = Array.from({ length: 1000 }, (_, i) => [
          `ip:10.0.0.${i % 10}`,
          `user:${i % 3}`,
          'route:/x',
        ])
        const results = await Promise.all(requests.map((keys) => compound.consume(keys)))
        const accepted = { ip: new Map<string, number>(), user: new Map<string, number>() }
        let total = 0
        results.forEach((result, i) => {
          const [ip, user] = requests[i]!
          if (!result.allowed) return
          total++
          accepted.ip.set(ip!, (accepted.ip.get(ip!) ?? 0) + 1)
          accepted.user.set(user!, (accepted.user.get(user!) ?? 0) + 1)
        })
        return { perIp, perUser, perRoute, compound, requests, results, accepted, total }
      }

      it('1,000 concurrent requests: every part counts exactly the requests that passed, none over its limit', async () => {
        const { perIp, perUser, perRoute, requests, results, accepted, total } = await storm()
        for (const count of accepted.ip.values()) expect(count).toBeLessThanOrEqual(40)
        for (const count of accepted.user.values()) expect(count).toBeLessThanOrEqual(120)
        // The model: each part's counter holds exactly the requests that passed with its key.
        for (let i = 0; i < 10; i++) {
          const ip = `ip:10.0.0.${i}`
          expect((await perIp.peek(ip)).remaining, ip).toBe(40 - (accepted.ip.get(ip) ?? 0))
        }
        for (let u = 0; u < 3; u++) {
          const user = `user:${u}`
          expect((await perUser.peek(user)).remaining, user).toBe(120 - (accepted.user.get(user) ?? 0))
        }
        expect((await perRoute.peek('route:/x')).remaining).toBe(1000 - total)
        expect(total).toBeGreaterThan(300)
        for (const [i, result] of results.entries()) {
          const [ip, user] = requests[i]!
          if (result.allowed) {
            expect(result.parts.every((part) => part?.allowed)).toBe(true)
            expect(result.rejectedBy).toBeUndefined()
            continue
          }
          expect(['ip', 'user']).toContain(result.rejectedName)
          expect(result.retryAfterMs).toBeGreaterThan(0)
          expect(result.parts[result.rejectedBy!]?.allowed).toBe(false)
          // In one script a refusal is always justified by a full part; across Cluster slots a
          // reservation of a request refused elsewhere may also hold units for a moment.
          if (kit.mode !== 'cluster') {
            expect((accepted.ip.get(ip!) ?? 0) >= 40 || (accepted.user.get(user!) ?? 0) >= 120).toBe(true)
          }
        }
      })

      it('with a hash tag, one script decides every part, exactly (one slot on Cluster)', async () => {
        const { requests, results, accepted } = await storm(unique('tag'))
        for (const count of accepted.ip.values()) expect(count).toBeLessThanOrEqual(40)
        for (const count of accepted.user.values()) expect(count).toBeLessThanOrEqual(120)
        for (const [i, result] of results.entries()) {
          if (result.allowed) continue
          const [ip, user] = requests[i]!
          expect((accepted.ip.get(ip!) ?? 0) >= 40 || (accepted.user.get(user!) ?? 0) >= 120).toBe(true)
        }
      })

      it("a refusal by one part leaves the other parts' stored counters untouched, and names the part", async () => {
        const wide = kit.limiter(unique('c-wide'), { algorithm: 'sliding-window', limit: 100, window: '1h' })
        const narrow = kit.limiter(unique('c-narrow'), { algorithm: 'fixed-window', limit: 2, window: '1h' })
        const bucket = kit.limiter(unique('c-bucket'), { algorithm: 'token-bucket', limit: 50, window: '1h' })
        const compound = kit.compoundLimiter([
          { limiter: wide },
          { limiter: narrow, name: 'narrow' },
          { limiter: bucket },
        ])
        const keys = ['ip:1', 'user:1', 'route:1']
        const raw = () =>
          Promise.all(
            [wide, narrow, bucket].map((limiter, i) =>
              kit.store.getBuffer(kit.keys.scope('ratelimit', limiter.name).tagged(keys[i]!)),
            ),
          )
        expect((await compound.consume(keys)).allowed).toBe(true)
        const passed = await compound.consume(keys)
        expect(passed).toMatchObject({ allowed: true, remaining: 0, binding: 1, rejectedBy: undefined })
        const before = await raw()
        const refused = await compound.consume(keys)
        expect(refused).toMatchObject({
          allowed: false,
          rejectedBy: 1,
          rejectedName: 'narrow',
          binding: 1,
          limit: 2,
        })
        expect(refused.retryAfterMs).toBeGreaterThan(0)
        expect(refused.parts[0]).toMatchObject({ allowed: true, remaining: 98 })
        expect(refused.parts[2]).toMatchObject({ allowed: true, remaining: 48 })
        expect(await raw()).toEqual(before)
        expect((await wide.peek('ip:1')).remaining).toBe(98)
        // The refusing part is known in process now: refused again without asking the store (across
        // Cluster slots only blocks are remembered, a refusal there may come from a passing reservation).
        const again = await compound.consume(keys)
        expect(again).toMatchObject({ allowed: false, rejectedBy: 1 })
        if (kit.mode !== 'cluster') expect(again.parts[0]).toBeUndefined()
        expect(await raw()).toEqual(before)
        // A reset of the refusing part lets the next request through, and every part takes its cost.
        await narrow.reset('user:1')
        expect(await compound.consume(keys, [3, 1, 5])).toMatchObject({ allowed: true })
        expect((await wide.peek('ip:1')).remaining).toBe(95)
        expect((await bucket.peek('route:1')).remaining).toBe(43)
        // The one-shot form, twice (the second call reuses the compound the first one made).
        for (const left of [45, 40]) {
          const once = await kit.compoundLimit([
            { limiter: wide, key: 'ip:2' },
            { limiter: bucket, key: 'route:2', cost: 5, name: 'route' },
          ])
          expect(once).toMatchObject({ allowed: true, binding: 1, remaining: left })
        }
      })

      it("a refusing part applies its own block policy; the others' counters stay", async () => {
        const open = kit.limiter(unique('c-open'), { limit: 10, window: '1h' })
        const guarded = kit.limiter(unique('c-guard'), { limit: 1, window: '1h', blockFor: '10m' })
        const compound = kit.compoundLimiter([{ limiter: open }, { limiter: guarded }])
        expect((await compound.consume(['a', 'b'])).allowed).toBe(true)
        const refused = await compound.consume(['a', 'b'])
        expect(refused).toMatchObject({ allowed: false, blocked: true, rejectedBy: 1 })
        expect(refused.retryAfterMs).toBeGreaterThan(590_000)
        expect((await guarded.peek('b')).blocked).toBe(true)
        expect((await open.peek('a')).remaining).toBe(9)
        await expect(compound.consume(['a'])).rejects.toThrow(/2 keys/)
        expect(() => kit.compoundLimiter([{ limiter: open }, { limiter: open }])).toThrow(/again/)
        await expect(kit.compoundLimit([{ limiter: open, key: 'a', cost: 0 }])).rejects.toThrow(/cost/)
      })
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
