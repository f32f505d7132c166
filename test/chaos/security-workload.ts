// The feature workload the security suites run under a restricted ACL user and over TLS, on one node
// and on a Cluster: every feature once, asserting it works, plus the scan for a leaked credential.

import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { expect } from 'vitest'
import type { Redkit } from '../../src/index.js'
import { leaks, renderings, waitFor } from '../harness/index.js'

/**
 * The ACL a cautious operator gives an application, as the tests apply it (`-@dangerous` already takes
 * KEYS, FLUSHALL, FLUSHDB, CONFIG and INFO; they are named again so the line reads as the policy).
 */
export const APP_ACL = ['on', '~*', '&*', '+@all', '-@dangerous', '-keys', '-flushall', '-flushdb', '-config']

/** Every feature once against `kit`, with `peer` (a second instance) receiving the bus traffic. */
export async function runEveryFeature(kit: Redkit, peer: Redkit): Promise<void> {
  const run = randomBytes(3).toString('hex')

  // Cache: L1 + L2, tags (version keys, index sets, the sweeper's SSCAN/UNLINK), deletePattern (SCAN), clear.
  const cache = kit.cache(`sec${run}`, { ttl: '1m' })
  await cache.set(['product', 1], { n: 1 }, { tags: ['vendor:7'] })
  await cache.set(['product', 2], { n: 2 }, { tags: ['vendor:8'] })
  await cache.set(['user', 'a*b', 1], 'u')
  expect(await cache.getOrSet(['product', 3], () => ({ n: 3 }), { tags: ['vendor:7'] })).toEqual({ n: 3 })
  expect(await cache.get(['product', 1])).toEqual({ n: 1 })
  await kit.invalidateTags(['vendor:7'])
  expect(await cache.get(['product', 1])).toBeUndefined()
  expect(await cache.get(['product', 3])).toBeUndefined()
  expect(await cache.get(['product', 2])).toEqual({ n: 2 })
  expect(await cache.deletePattern(cache.pattern(['user', 'a*b']))).toBe(1)
  expect(await cache.get(['user', 'a*b', 1])).toBeUndefined()
  await cache.set('last', 'x')
  expect(await cache.clear()).toBeGreaterThanOrEqual(1)
  expect(await cache.get('last')).toBeUndefined()

  // Limiter: consume past the limit, block, reset, penalty.
  const limiter = kit.limiter(`sec${run}`, { algorithm: 'sliding-window', limit: 2, window: '1m' })
  expect((await limiter.consume('ip')).allowed).toBe(true)
  expect((await limiter.consume('ip')).allowed).toBe(true)
  expect((await limiter.consume('ip')).allowed).toBe(false)
  await limiter.reset('ip')
  expect((await limiter.consume('ip')).allowed).toBe(true)
  await limiter.block('other', '1m')
  expect(await limiter.consume('other')).toMatchObject({ allowed: false, blocked: true })
  const bucket = kit.limiter(`tb${run}`, { algorithm: 'token-bucket', limit: 3, window: '1m' })
  await bucket.penalty('ip', 3)
  expect((await bucket.consume('ip')).allowed).toBe(false)

  // Sessions: save, read, per-user index, destroy by user, enumerate, clear.
  const sessions = kit.sessions({ prefix: `sess${run}`, secret: randomBytes(32).toString('base64') })
  const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() }
  await sessions.set('s1', { cookie, userId: 'u1' } as never)
  await sessions.set('s2', { cookie, userId: 'u1' } as never)
  await sessions.set('s3', { cookie, userId: 'u2' } as never)
  expect(await sessions.get('s1')).toMatchObject({ userId: 'u1' })
  expect(await sessions.listByUserId('u1')).toHaveLength(2)
  expect(await sessions.destroyByUserId('u1')).toBe(2)
  expect(await sessions.get('s2')).toBeNull()
  expect(await sessions.length()).toBe(1)
  await sessions.clear()
  expect(await sessions.length()).toBe(0)

  // Revocation: one token, and every token of a user issued before now.
  const revocations = kit.revocations()
  const exp = Math.floor(Date.now() / 1000) + 600
  await revocations.revoke(`jti${run}`, exp)
  expect(await revocations.isRevoked({ jti: `jti${run}`, sub: 'u9', iat: exp - 600 })).toBe(true)
  expect(await revocations.isRevoked({ jti: `other${run}`, sub: 'u9', iat: exp - 600 })).toBe(false)
  await revocations.revokeUser(`u${run}`)
  expect(
    await revocations.isRevoked({ jti: `x${run}`, sub: `u${run}`, iat: Math.floor(Date.now() / 1000) - 5 }),
  ).toBe(true)

  // Bus: a message between two instances.
  const received: unknown[] = []
  const unsubscribe = await peer.bus.subscribe(`sec${run}`, (payload) => received.push(payload))
  await waitFor(
    async () => {
      await kit.bus.publish(`sec${run}`, { hello: run })
      return received.length > 0
    },
    { timeoutMs: 10_000, message: 'bus message not delivered' },
  )
  expect(received[0]).toEqual({ hello: run })
  await unsubscribe()
}

/** Asserts that `secret` appears in none of the texts an app could print of what redkit gave it. */
export async function expectNoLeak(
  kit: Redkit,
  secret: string,
  extra: { records: string[]; errors: unknown[] },
) {
  const texts = [
    ...extra.records,
    ...extra.errors.flatMap((error) => renderings(error)),
    inspect(kit, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    JSON.stringify(kit),
    JSON.stringify(await kit.health()),
    JSON.stringify(kit.metrics()),
  ]
  expect(leaks(texts, secret)).toEqual([])
}
