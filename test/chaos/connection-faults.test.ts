// Fault behaviour of the connection layer against a real redis-server: kill -9, SIGSTOP (hang),
// restart on the same port, a restricted ACL user, and TLS with a CA made in the test.

import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type BreakerStateChange,
  CommandTimeoutError,
  createRedkit,
  RedisUnavailableError,
  type Redkit,
} from '../../src/index.js'
import { makeTlsFiles, startRedis, stopAllServers, timed, waitFor } from '../harness/index.js'

afterAll(() => stopAllServers())

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

describe('kill -9 and restart', () => {
  it('fails fast with RedisUnavailableError, opens the breaker, and recovers after restart', async () => {
    const server = await startRedis()
    const kit: Redkit = createRedkit({
      url: server.url,
      app: 'chaos',
      commandTimeout: 1000,
      breaker: { threshold: 3, cooldown: 500 },
    })
    const changes: BreakerStateChange[] = []
    kit.on('breakerStateChange', (change) => changes.push(change))
    await kit.store.set('chaos:k', 'before')
    await server.kill9()

    // Until the breaker opens, each call fails within the command timeout, never later.
    for (let i = 0; i < 3; i++) {
      const { ms, error } = await timed(() => kit.store.get('chaos:k'))
      expect(error).toBeInstanceOf(RedisUnavailableError)
      expect(ms).toBeLessThan(1500)
    }
    expect(kit.metrics().breaker.state).toBe('open')

    // Open breaker: no socket wait at all.
    const fast: number[] = []
    for (let i = 0; i < 200; i++) {
      const { ms, error } = await timed(() => kit.store.get('chaos:k'))
      expect(error).toBeInstanceOf(RedisUnavailableError)
      fast.push(ms)
    }
    expect(median(fast)).toBeLessThan(1)
    expect((await kit.health()).status).toBe('down')

    await server.restart()
    // After the cooldown the next call probes; the process recovers without a restart.
    await waitFor(async () => (await kit.store.set('chaos:k', 'after')) === true, {
      timeoutMs: 10_000,
      message: 'redkit never reconnected after restart',
    })
    expect(await kit.store.get('chaos:k')).toBe('after')
    expect(kit.metrics().breaker.state).toBe('closed')
    expect(changes.map((c) => c.to)).toContain('open')
    expect(changes.at(-1)?.to).toBe('closed')
    expect((await kit.health()).status).toBe('healthy')
    await kit.close()
    await server.stop()
  })

  it('a kit created while Redis is down fails within the timeout, then works once Redis is up', async () => {
    const server = await startRedis()
    await server.kill9()
    const kit = createRedkit({
      url: server.url,
      app: 'down',
      commandTimeout: 400,
      breaker: { threshold: 100 },
    })
    const { ms, error } = await timed(() => kit.store.get('down:k'))
    expect(error).toBeInstanceOf(RedisUnavailableError)
    expect(ms).toBeLessThan(1000)
    await server.restart()
    await waitFor(async () => (await kit.store.get('down:k').catch(() => 'failed')) === null, {
      timeoutMs: 10_000,
      message: 'never connected after the server came up',
    })
    await kit.close()
    await server.stop()
  })
})

describe('SIGSTOP (hung server)', () => {
  it('commands time out at the command timeout, not later, and work again after SIGCONT', async () => {
    const server = await startRedis()
    const kit = createRedkit({
      url: server.url,
      app: 'hang',
      commandTimeout: 300,
      breaker: { threshold: 50 },
    })
    await kit.store.set('hang:k', 'v')
    server.pause()
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => timed(() => kit.store.get('hang:k'))),
      )
      for (const { ms, error } of results) {
        expect(error).toBeInstanceOf(CommandTimeoutError)
        expect(error).toBeInstanceOf(RedisUnavailableError)
        expect(ms).toBeGreaterThanOrEqual(250)
        expect(ms).toBeLessThan(800)
      }
    } finally {
      server.resume()
    }
    await waitFor(async () => (await kit.store.get('hang:k').catch(() => undefined)) === 'v', {
      message: 'no answer after SIGCONT',
    })
    await kit.close()
    await server.stop()
  })

  it('an open breaker answers in under a millisecond while the server hangs', async () => {
    const server = await startRedis()
    const kit = createRedkit({
      url: server.url,
      app: 'hang2',
      commandTimeout: 200,
      breaker: { threshold: 2, cooldown: 60_000 },
    })
    await kit.ready()
    server.pause()
    try {
      await Promise.all([kit.store.get('a').catch(() => {}), kit.store.get('b').catch(() => {})])
      expect(kit.metrics().breaker.state).toBe('open')
      const times: number[] = []
      for (let i = 0; i < 100; i++) times.push((await timed(() => kit.store.get('hang2:k'))).ms)
      expect(median(times)).toBeLessThan(1)
    } finally {
      server.resume()
    }
    await kit.close()
    await server.stop()
  })
})

describe('restricted ACL user', () => {
  it('works with +@all -@dangerous -keys -flushall', async () => {
    const server = await startRedis()
    await server.cli(
      'ACL',
      'SETUSER',
      'app',
      'on',
      '>app-pw',
      '~*',
      '&*',
      '+@all',
      '-@dangerous',
      '-keys',
      '-flushall',
    )
    const kit = createRedkit({ url: `redis://app:app-pw@127.0.0.1:${server.port}`, app: 'acl' })
    await kit.store.set('acl:a', '1', { ttlMs: 10_000 })
    await kit.store.mset([
      { key: 'acl:b', value: '2' },
      { key: 'acl:c', value: '3' },
    ])
    expect(await kit.store.mget(['acl:a', 'acl:b', 'acl:c'])).toEqual(['1', '2', '3'])
    const seen: string[] = []
    for await (const batch of kit.store.scan({ match: 'acl:*' })) seen.push(...batch)
    expect(seen.sort()).toEqual(['acl:a', 'acl:b', 'acl:c'])
    kit.store.defineScript({
      name: 'acl.echo',
      lua: 'return ARGV[1]',
      memory: (_c, _k, args) => args[0] ?? null,
    })
    expect(await kit.store.runScript('acl.echo', [], ['hi'])).toBe('hi')
    const received: unknown[] = []
    await kit.bus.subscribe('acl', (payload) => received.push(payload), { includeSelf: true })
    await kit.bus.publish('acl', { n: 1 })
    await waitFor(() => received.length === 1, { message: 'bus message not delivered under ACL' })
    expect(await kit.store.del(['acl:a', 'acl:b', 'acl:c'])).toBe(3)
    const health = await kit.health()
    expect(health.status).toBe('healthy')
    const names = await server.cli('CLIENT', 'LIST')
    expect(names).toContain('name=acl:command')
    await kit.close()
    await server.stop()
  })
})

describe('TLS', () => {
  it('connects with rediss:// to a server with a self-signed CA', async () => {
    const files = await makeTlsFiles()
    const server = await startRedis({ tls: files })
    expect(server.url.startsWith('rediss://')).toBe(true)
    const kit = createRedkit({ url: server.url, app: 'tls', tls: { ca: readFileSync(files.ca) } })
    await kit.store.set('tls:k', 'secure')
    expect(await kit.store.get('tls:k')).toBe('secure')
    const received: unknown[] = []
    await kit.bus.subscribe('t', (payload) => received.push(payload), { includeSelf: true })
    await kit.bus.publish('t', 'over tls')
    await waitFor(() => received.length === 1, { message: 'bus message over TLS not delivered' })
    expect(received).toEqual(['over tls'])
    await kit.close()

    // Without the CA the server's certificate is refused: an error, not a hang.
    const untrusted = createRedkit({ url: server.url, app: 'tls2', commandTimeout: 1000 })
    await expect(untrusted.store.get('tls:k')).rejects.toBeInstanceOf(RedisUnavailableError)
    await untrusted.close()
    await server.stop()
  })
})
