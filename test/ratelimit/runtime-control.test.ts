// Runtime control of rate limiting: limits changed at runtime and allow/deny lists, on the embedded store
// and across instances on a real redis-server (a second kit and a second process, over the bus), and what
// in-process answers cost Redis: nothing (INFO commandstats).

import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, InvalidOptionsError, type Redkit } from '../../src/index.js'
import { type RedisServer, startRedis, waitFor } from '../harness/index.js'

const WORKER = fileURLToPath(new URL('./fixtures/control-worker.ts', import.meta.url))
const REGISTER = fileURLToPath(new URL('../../scripts/lua-loader.mjs', import.meta.url))
const unique = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`

describe('runtime limits on the embedded store', () => {
  it('setLimit for every key and per key, clearLimit back to the configured limit', async () => {
    const kit = createRedkit({ url: 'memory', app: 'rt', environment: {} })
    try {
      const limiter = kit.limiter('api', { algorithm: 'fixed-window', limit: 2, window: '1h' })
      expect(await limiter.consume('a')).toMatchObject({ allowed: true, limit: 2 })
      await limiter.consume('a')
      expect(await limiter.consume('a')).toMatchObject({ allowed: false })
      // Known to be over its limit: answered in process, until the limit changes.
      expect(limiter.metrics().exceededCacheHits).toBe(0)
      expect(await limiter.consume('a')).toMatchObject({ allowed: false })
      expect(limiter.metrics().exceededCacheHits).toBe(1)
      await limiter.setLimit(5)
      expect(await limiter.consume('a')).toMatchObject({ allowed: true, limit: 5, remaining: 2 })
      await limiter.setLimit(100, { key: 'vip' })
      expect(limiter.limitFor('vip')).toBe(100)
      expect(limiter.limitFor('other')).toBe(5)
      expect(await limiter.consume('vip', 50)).toMatchObject({ allowed: true, limit: 100, remaining: 50 })
      await limiter.clearLimit()
      expect(limiter.limitFor('a')).toBe(2)
      expect(limiter.limitFor('vip')).toBe(100)
      expect(await limiter.consume('a')).toMatchObject({ allowed: false, limit: 2 })
      await limiter.clearLimit({ key: 'vip' })
      expect(limiter.limitFor('vip')).toBe(2)
      await expect(limiter.setLimit(0)).rejects.toThrow(InvalidOptionsError)
      await expect(limiter.setLimit(3, { key: '' })).rejects.toThrow(InvalidOptionsError)
      // @ts-expect-error a misspelt option
      await expect(limiter.setLimit(3, { keys: 'a' })).rejects.toThrow(/did you mean/)
      // A new limiter object of the same name in a new kit reads the stored limits on first use.
      await limiter.setLimit(7)
      expect(await limiter.peek('fresh')).toMatchObject({ limit: 7, remaining: 7 })
    } finally {
      await kit.close()
    }
  })

  it('reward and reset clear a known over-the-limit key', async () => {
    const kit = createRedkit({ url: 'memory', app: 'rt', environment: {} })
    try {
      for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket'] as const) {
        const limiter = kit.limiter(unique(algorithm), { algorithm, limit: 1, window: '1h' })
        await limiter.consume('k')
        expect((await limiter.consume('k')).allowed).toBe(false)
        const calls = limiter.metrics().storeCalls
        expect(await limiter.consume('k')).toMatchObject({ allowed: false, blocked: false })
        expect(limiter.metrics().storeCalls).toBe(calls)
        await limiter.reward('k', 1)
        expect((await limiter.consume('k')).allowed).toBe(true)
        expect((await limiter.consume('k')).allowed).toBe(false)
        await limiter.reset('k')
        expect((await limiter.consume('k')).allowed).toBe(true)
      }
    } finally {
      await kit.close()
    }
  })
})

describe('access lists on the embedded store', () => {
  it('IPs, CIDR ranges of both families, user ids; deny wins; remove', async () => {
    const kit = createRedkit({ url: 'memory', app: 'rt', environment: {} })
    try {
      const list = kit.accessList('api')
      expect(kit.accessList('api')).toBe(list)
      await list.deny('203.0.113.0/24')
      await list.allow('10.0.0.0/8')
      await list.deny('10.6.6.6')
      await list.deny('2001:db8:bad::/48')
      await list.allow('ip:2001:db8::1')
      await list.deny('user:13')
      expect(await list.check('203.0.113.9')).toBe('deny')
      expect(await list.check('::ffff:203.0.113.9')).toBe('deny')
      expect(await list.check('10.1.2.3')).toBe('allow')
      expect(await list.check('10.6.6.6')).toBe('deny')
      expect(await list.check('2001:db8:bad:1::5')).toBe('deny')
      expect(await list.check('2001:db8::1')).toBe('allow')
      expect(await list.check('2001:db8::2')).toBeUndefined()
      expect(await list.check('10.1.2.3', 13)).toBe('deny')
      expect(await list.check('198.51.100.1', '14')).toBeUndefined()
      await list.remove('203.0.113.0/24')
      expect(await list.check('203.0.113.9')).toBeUndefined()
      expect((await list.entries()).map((e) => `${e.rule} ${e.entry}`).sort()).toEqual([
        'allow 10.0.0.0/8',
        'allow 2001:db8::1',
        'deny 10.6.6.6',
        'deny 2001:db8:bad::/48',
        'deny user:13',
      ])
      await expect(list.deny('10.0.0.0/33')).rejects.toThrow(InvalidOptionsError)
      await expect(list.deny(' ')).rejects.toThrow(InvalidOptionsError)
      const small = kit.accessList('small', { maxEntries: 2 })
      await small.deny('1.1.1.1')
      await small.deny('1.1.1.2')
      await expect(small.deny('1.1.1.3')).rejects.toThrow(/holds 2 entries/)
      await small.allow('1.1.1.2')
      expect(() => kit.accessList('small', { maxEntries: 3 })).toThrow(InvalidOptionsError)
    } finally {
      await kit.close()
    }
  })
})

describe('across instances on a real redis-server', () => {
  let server: RedisServer
  let one: Redkit
  let two: Redkit
  let admin: Redis
  beforeAll(async () => {
    server = await startRedis()
    one = createRedkit({ url: server.url, app: 'control', environment: {} })
    two = createRedkit({ url: server.url, app: 'control', environment: {} })
    admin = new Redis(server.url)
  })
  afterAll(async () => {
    admin?.disconnect()
    await one?.close()
    await two?.close()
    await server?.stop()
  })

  /** Commands the server ran, INFO itself left out. */
  async function commandsRun(): Promise<number> {
    const info = await admin.info('commandstats')
    let total = 0
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (match[1] !== 'info') total += Number(match[2])
    }
    return total
  }

  it('a limit change and a deny entry reach a second kit within 500 ms', async () => {
    const name = unique('shared')
    const a = one.limiter(name, { limit: 10, window: '1h' })
    const b = two.limiter(name, { limit: 10, window: '1h' })
    const listA = one.accessList(name)
    const listB = two.accessList(name)
    expect((await b.consume('k')).limit).toBe(10)
    expect(await listB.check('198.51.100.7')).toBeUndefined()
    const started = Date.now()
    await a.setLimit(3, { key: 'k' })
    await listA.deny('198.51.100.0/24')
    await waitFor(() => b.limitFor('k') === 3 && listB.match('198.51.100.7') === 'deny', {
      timeoutMs: 500,
      intervalMs: 2,
      message: 'the change never reached the second kit',
    })
    expect(Date.now() - started).toBeLessThan(500)
    expect(await b.consume('k')).toMatchObject({ limit: 3, remaining: 1 })
    await a.clearLimit({ key: 'k' })
    await listA.remove('198.51.100.0/24')
    await waitFor(() => b.limitFor('k') === 10 && listB.match('198.51.100.7') === undefined, {
      timeoutMs: 500,
      intervalMs: 2,
    })
    // A kit created after the change reads it at startup.
    await a.setLimit(4)
    const three = createRedkit({ url: server.url, app: 'control', environment: {} })
    try {
      expect((await three.limiter(name, { limit: 10, window: '1h' }).consume('z')).limit).toBe(4)
    } finally {
      await three.close()
    }
  })

  it('a reward on one kit makes the other ask Redis again about a key it knew to be over its limit', async () => {
    const name = unique('reward')
    const a = one.limiter(name, { algorithm: 'sliding-window', limit: 1, window: '1h' })
    const b = two.limiter(name, { algorithm: 'sliding-window', limit: 1, window: '1h' })
    await a.consume('k')
    expect((await b.consume('k')).allowed).toBe(false)
    await waitFor(async () => {
      const calls = b.metrics().storeCalls
      return !(await b.consume('k')).allowed && b.metrics().storeCalls === calls
    })
    await a.reward('k', 1)
    await waitFor(async () => (await b.consume('k')).allowed, {
      timeoutMs: 500,
      message: 'the reward never reached the second kit',
    })
  })

  it('a limit change and a deny entry reach a second process within 500 ms', async () => {
    const name = unique('process')
    const config = { url: server.url, limiter: name, list: name, limit: 42, deniedIp: '192.0.2.77' }
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', REGISTER, WORKER, JSON.stringify(config)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
      expect((await lines.next()).value).toBe('ready')
      const started = Date.now()
      await one.limiter(name, { limit: 10, window: '1h' }).setLimit(42)
      await one.accessList(name).deny('192.0.2.77')
      expect((await lines.next()).value).toBe('seen')
      expect(Date.now() - started).toBeLessThan(500)
    } finally {
      if (child.exitCode === null) child.kill()
    }
  })

  it('denied and known-over-the-limit requests send no command to Redis', async () => {
    const name = unique('quiet')
    const list = one.accessList(name)
    await list.deny('203.0.113.66')
    expect(await list.check('203.0.113.66')).toBe('deny')
    const limiters = (['fixed-window', 'sliding-window', 'token-bucket'] as const).map((algorithm) =>
      one.limiter(`${name}-${algorithm}`, { algorithm, limit: 2, window: '1h' }),
    )
    for (const limiter of limiters) {
      await limiter.consume('k', 2)
      expect((await limiter.consume('k')).allowed).toBe(false)
    }
    const before = await commandsRun()
    for (let i = 0; i < 100; i++) {
      expect(await list.check('203.0.113.66')).toBe('deny')
      for (const limiter of limiters) expect((await limiter.consume('k')).allowed).toBe(false)
    }
    expect(await commandsRun()).toBe(before)
    for (const limiter of limiters) expect(limiter.metrics().exceededCacheHits).toBeGreaterThanOrEqual(100)
  })
})
