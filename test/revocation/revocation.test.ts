// kit.revocations() on the embedded store and on a real redis-server: jti revocation until expiry,
// user-wide cut-off by iat, two instances agreeing over the bus, cache flush on bus reconnect, fail policy.

import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  createRedkit,
  InvalidOptionsError,
  type Logger,
  type Redkit,
  type RevocationListOptions,
} from '../../src/index.js'
import { type RedisServer, startCluster, startRedis, waitFor } from '../harness/index.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const PEER = fileURLToPath(new URL('./fixtures/revocation-peer.ts', import.meta.url))
const nowSeconds = (): number => Math.floor(Date.now() / 1000)

function behaviour(name: string, makeKit: () => Promise<{ kit: Redkit; teardown(): Promise<void> }>): void {
  describe(`revocations on ${name}`, () => {
    let kit: Redkit
    let teardown: () => Promise<void>
    const list = (options: RevocationListOptions = {}) =>
      kit.revocations({ name: `r${randomUUID().slice(0, 8)}`, ...options })

    beforeAll(async () => {
      ;({ kit, teardown } = await makeKit())
    })
    afterAll(async () => {
      await kit?.close()
      await teardown?.()
    })

    it('a revoked jti is refused until its exp, and its key is then gone', async () => {
      const revocations = list({ cache: false })
      const expiresAt = new Date(Date.now() + 400)
      expect(await revocations.revoke('token-1', expiresAt)).toBe(true)
      expect(await revocations.isRevoked({ jti: 'token-1' })).toBe(true)
      expect(await revocations.isRevoked({ jti: 'token-2' })).toBe(false)
      const keys: string[] = []
      for await (const batch of kit.store.scan({ match: kit.keys.pattern() })) keys.push(...batch)
      const key = keys.find((k) => k.endsWith(':jti:token-1'))!
      expect(await kit.store.pttl(key)).toBeLessThanOrEqual(400)
      await waitFor(async () => (await kit.store.pttl(key)) === -2, { message: 'jti key to expire' })
      expect(await revocations.isRevoked({ jti: 'token-1' })).toBe(false)
    })

    it('an exp in the past stores nothing; exp in seconds is a JWT NumericDate', async () => {
      const revocations = list()
      expect(await revocations.revoke('old', nowSeconds() - 10)).toBe(false)
      expect(await revocations.isRevoked({ jti: 'old' })).toBe(false)
      expect(await revocations.revoke('fresh', nowSeconds() + 60)).toBe(true)
      expect(await revocations.isRevoked({ jti: 'fresh', sub: 'someone', iat: nowSeconds() })).toBe(true)
    })

    it('revokeUser cuts off tokens issued before it, by iat; other users untouched', async () => {
      const revocations = list()
      await revocations.ready()
      const issued = nowSeconds() - 100
      expect(await revocations.isRevoked({ sub: 'u1', iat: issued })).toBe(false)
      const cutoff = await revocations.revokeUser('u1')
      const cutoffSeconds = cutoff.getTime() / 1000
      expect(Number.isInteger(cutoffSeconds)).toBe(true)
      expect(await revocations.isRevoked({ sub: 'u1', iat: issued })).toBe(true)
      expect(await revocations.isRevoked({ sub: 'u1', iat: cutoffSeconds - 1 })).toBe(true)
      // iat has whole-second precision: a token issued in the cut-off's second (right after) is valid.
      expect(await revocations.isRevoked({ sub: 'u1', iat: cutoffSeconds })).toBe(false)
      expect(await revocations.isRevoked({ sub: 'u1', iat: cutoffSeconds + 5 })).toBe(false)
      expect(await revocations.isRevoked({ sub: 'u1' })).toBe(true)
      expect(await revocations.isRevoked({ sub: 'u2', iat: issued })).toBe(false)
      // A cut-off never moves back.
      expect((await revocations.revokeUser('u1', new Date(Date.now() - 3_600_000))).getTime()).toBe(
        cutoff.getTime(),
      )
      expect(await revocations.isRevoked({ sub: 'u1', iat: issued })).toBe(true)
      const counts = kit.metrics().revocations as Record<string, { checks: number; cacheHits: number }>
      expect(Object.values(counts).some((c) => c.checks === 8 && c.cacheHits > 0)).toBe(true)
    })

    it('keeps a user cut-off for maxTokenLifetime', async () => {
      const revocations = list({ maxTokenLifetime: '1h', cache: false })
      await revocations.revokeUser(99)
      const keys: string[] = []
      for await (const batch of kit.store.scan({ match: kit.keys.pattern() })) keys.push(...batch)
      const key = keys.find((k) => k.endsWith(':user:99'))!
      const ttl = await kit.store.pttl(key)
      expect(ttl).toBeGreaterThan(3_590_000)
      expect(ttl).toBeLessThanOrEqual(3_600_000)
    })

    it('kit.revocations() keeps one list per name: same options give it back, no subscription per call', async () => {
      const name = `one${randomUUID().slice(0, 8)}`
      const subscribe = vi.spyOn(kit.store, 'subscribe')
      let first: ReturnType<Redkit['revocations']>
      try {
        first = kit.revocations({ name })
        for (let i = 0; i < 5; i++) expect(kit.revocations({ name })).toBe(first)
        // The defaults spelled out are the same options.
        expect(kit.revocations({ name, onUnavailable: 'deny', cache: { max: 10_000, ttl: '1m' } })).toBe(
          first,
        )
        const channels = subscribe.mock.calls.map(([channel]) => channel)
        expect(channels.filter((channel) => channel.endsWith(`revocations:${name}`))).toHaveLength(1)
      } finally {
        subscribe.mockRestore()
      }
      await first.ready()
      // Its counters are not reset by later calls: the checks of every caller add up.
      for (let i = 0; i < 3; i++) await kit.revocations({ name }).isRevoked({ jti: 'nobody' })
      const counts = kit.metrics().revocations as Record<string, { checks: number }>
      expect(counts[name]!.checks).toBe(3)
      expect(() => kit.revocations({ name, onUnavailable: 'allow' })).toThrow(
        new RegExp(
          `revocations '${name}' already exist with other options.*kit\\.revocations\\(\\{ name: '${name}' \\}\\)`,
        ),
      )
      expect(() => kit.revocations({ name, colour: 'red' } as RevocationListOptions)).toThrow(
        /unknown option/,
      )
      expect(kit.revocations()).toBe(kit.revocations())
    })

    it('rejects bad options at construction', () => {
      expect(() => kit.revocations({ onUnavailable: 'maybe' as 'deny' })).toThrow(InvalidOptionsError)
      expect(() => kit.revocations({ cache: { max: 0 } })).toThrow(InvalidOptionsError)
      expect(() => kit.revocations({ maxTokenLifetime: 'soon' })).toThrow(InvalidOptionsError)
      expect(() => kit.revocations({ colour: 'red' } as RevocationListOptions)).toThrow(InvalidOptionsError)
    })
  })
}

behaviour('the embedded store', async () => ({
  kit: createRedkit({ url: 'memory', environment: {}, app: 'rev' }),
  teardown: async () => {},
}))

behaviour('a single redis-server', async () => {
  const server = await startRedis()
  return {
    kit: createRedkit({ url: server.url, environment: {}, app: 'rev' }),
    teardown: () => server.stop(),
  }
})

behaviour('a 6-node Redis Cluster', async () => {
  const cluster = await startCluster()
  return {
    kit: createRedkit({ cluster: { nodes: cluster.nodes }, environment: {}, app: 'rev' }),
    teardown: () => cluster.stop(),
  }
})

describe('revocations across instances on one Redis', () => {
  let server: RedisServer
  const kits: Redkit[] = []
  const kit = (options: Parameters<typeof createRedkit>[0] = {}) => {
    const made = createRedkit({ url: server.url, environment: {}, app: 'rev', ...options })
    kits.push(made)
    return made
  }

  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await Promise.all(kits.map((k) => k.close()))
    await server?.stop()
  })

  it('two instances with caches agree within bus delivery', async () => {
    const a = kit().revocations({ name: 'agree' })
    const b = kit().revocations({ name: 'agree' })
    await Promise.all([a.ready(), b.ready()])
    const claims = { jti: 'shared', sub: 'carol', iat: nowSeconds() - 50 }
    // b caches "not revoked" for both the jti and the user.
    expect(await b.isRevoked(claims)).toBe(false)
    await a.revoke('shared', nowSeconds() + 60)
    await waitFor(() => b.isRevoked(claims), { message: 'b to learn the jti revocation' })
    const other = { jti: 'other', sub: 'carol', iat: nowSeconds() - 50 }
    expect(await b.isRevoked({ ...other, sub: 'dan' })).toBe(false)
    expect(await b.isRevoked(other)).toBe(false)
    await a.revokeUser('carol')
    await waitFor(() => b.isRevoked(other), { message: 'b to learn the user cut-off' })
  })

  it('two processes with caches agree within bus delivery', async () => {
    const local = kit().revocations({ name: 'processes' })
    await local.ready()
    const peer = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', './scripts/lua-loader.mjs', PEER, server.url, 'processes'],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    )
    const replies = createInterface({ input: peer.stdout! })[Symbol.asyncIterator]()
    const next = async (): Promise<{ result?: unknown; ready?: boolean }> =>
      JSON.parse((await replies.next()).value)
    const ask = async (command: object): Promise<unknown> => {
      peer.stdin!.write(`${JSON.stringify(command)}\n`)
      return (await next()).result
    }
    try {
      expect(await next()).toEqual({ ready: true })
      const claims = { jti: 'cross', sub: 'erin', iat: nowSeconds() - 30 }
      // Both processes cache "not revoked" first, so only the bus can change their answer.
      expect(await ask({ op: 'check', claims })).toBe(false)
      expect(await local.isRevoked(claims)).toBe(false)
      await local.revoke('cross', nowSeconds() + 60)
      await waitFor(async () => (await ask({ op: 'check', claims })) === true, {
        message: 'the peer to learn it',
      })
      const other = { jti: 'cross-2', sub: 'erin', iat: nowSeconds() - 30 }
      expect(await local.isRevoked(other)).toBe(false)
      await ask({ op: 'revokeUser', userId: 'erin' })
      await waitFor(() => local.isRevoked(other), { message: 'this process to learn the cut-off' })
    } finally {
      peer.stdin!.end(`${JSON.stringify({ op: 'exit' })}\n`)
      await new Promise((resolve) => peer.once('exit', resolve))
    }
  })

  it('the cache answers without Redis, and is flushed when the bus reconnects', async () => {
    const k = kit()
    const revocations = k.revocations({ name: 'flush' })
    await revocations.ready()
    expect(await revocations.isRevoked({ jti: 'missed' })).toBe(false)
    // Written behind the bus's back, like a message lost while the subscriber was down.
    await k.store.set(k.keys.scope('flush').build('jti', 'missed'), '1', { ttlMs: 60_000 })
    expect(await revocations.isRevoked({ jti: 'missed' })).toBe(false)
    await server.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
    await waitFor(() => revocations.isRevoked({ jti: 'missed' }), {
      timeoutMs: 10_000,
      message: 'the reconnect to flush the cached answer',
    })
  })

  it('while Redis is down, checks log one warning per interval with the count of those suppressed', async () => {
    const own = await startRedis()
    const warnings: { fields: Record<string, unknown>; message: string }[] = []
    const noop = () => {}
    const logger: Logger = {
      debug: noop,
      info: noop,
      error: noop,
      warn: (fields, message) => warnings.push({ fields, message }),
    }
    // The breaker opens on the first failure, so every later check fails at once, well within one interval.
    const k = createRedkit({
      url: own.url,
      environment: {},
      app: 'rev',
      commandTimeout: 300,
      breaker: { threshold: 1, cooldown: '1m' },
      logger,
    })
    const outage = () => warnings.filter((w) => w.message === 'redkit: revocation check without Redis')
    try {
      const revocations = k.revocations({ name: 'noisy', cache: false })
      expect(await revocations.isRevoked({ jti: 'before' })).toBe(false)
      await own.kill9()
      let checks = 0
      const check = async () => {
        checks++
        expect(await revocations.isRevoked({ jti: 'during', sub: 'u', iat: 1 })).toBe(true)
      }
      for (let i = 0; i < 50; i++) await check()
      expect(outage()).toHaveLength(1)
      expect(outage()[0]!.fields).toMatchObject({ policy: 'deny', suppressed: 0 })
      // Once the interval has passed, the next check logs again, saying how many were left out.
      await waitFor(
        async () => {
          await check()
          return outage().length === 2
        },
        { timeoutMs: 5000, message: 'no second warning after the interval' },
      )
      expect(outage()[1]!.fields.suppressed).toBe(checks - 2)
    } finally {
      await k.close()
      await own.stop()
    }
  })

  it('fail policy when Redis is killed: deny by default, allow when configured', async () => {
    const own = await startRedis()
    const k = createRedkit({ url: own.url, environment: {}, app: 'rev', commandTimeout: 300 })
    try {
      const deny = k.revocations({ name: 'deny' })
      const allow = k.revocations({ name: 'allow', onUnavailable: 'allow' })
      const uncached = k.revocations({ name: 'nocache', cache: false })
      await Promise.all([deny.ready(), allow.ready()])
      expect(await deny.isRevoked({ jti: 'seen' })).toBe(false)
      await own.kill9()
      expect(await deny.isRevoked({ jti: 'never-seen', sub: 'x', iat: 1 })).toBe(true)
      expect(await allow.isRevoked({ jti: 'never-seen', sub: 'x', iat: 1 })).toBe(false)
      expect(await uncached.isRevoked({ jti: 'seen' })).toBe(true)
      // An answer cached before the outage is still served.
      expect(await deny.isRevoked({ jti: 'seen' })).toBe(false)
    } finally {
      await k.close()
      await own.stop()
    }
  })
})
