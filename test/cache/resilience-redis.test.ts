// The two-tier and resilience suite on a real redis-server, plus what needs real connections and
// processes: L1 kept in sync between instances by the bus, a killed subscriber connection, grace while
// Redis is down, and the distributed lock across 4 processes (and its holder killed mid-factory).

import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'
import { resilienceSuite } from './resilience-suite.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => stopAllServers())

resilienceSuite('RedisStore (single node)', async () => {
  const kit = createRedkit({ url: server.url, app: 'resilience' })
  return { kit, teardown: () => kit.close() }
})

const worker = fileURLToPath(new URL('./fixtures/locked-getorset.ts', import.meta.url))
const loader = fileURLToPath(new URL('../../scripts/lua-loader.mjs', import.meta.url))

function runWorker(args: string[]): {
  child: ChildProcess
  output: () => string
  exit: Promise<number | null>
} {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', loader, worker, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => {
    output += chunk
  })
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => output, exit }
}

describe('L1 across instances', () => {
  it('a set in A replaces B’s L1 copy within bus delivery; a delete in A makes B miss', async () => {
    const app = `l1${randomUUID().slice(0, 6)}`
    const a = createRedkit({ url: server.url, app })
    const b = createRedkit({ url: server.url, app })
    const options = { ttl: '1h', l1: { max: 100 } } as const
    const inA = a.cache('c', options)
    const inB = b.cache('c', options)
    await inA.set('k', 'v1')
    expect(await inB.get('k')).toBe('v1') // B now holds an L1 copy for up to an hour
    await inA.set('k', 'v2')
    await waitFor(async () => (await inB.get('k')) === 'v2', {
      timeoutMs: 2000,
      message: 'B kept serving its L1 copy',
    })
    await inA.delete('k')
    await waitFor(async () => (await inB.get('k')) === undefined, {
      timeoutMs: 2000,
      message: 'B still served a deleted key',
    })
    await Promise.all([a.close(), b.close()])
  })

  it('after its subscriber connection is killed, B does not serve a value changed meanwhile', async () => {
    const app = `kill${randomUUID().slice(0, 6)}`
    const a = createRedkit({ url: server.url, app })
    const b = createRedkit({ url: server.url, app })
    const options = { ttl: '1h', l1: { max: 100 } } as const
    const inA = a.cache('c', options)
    const inB = b.cache('c', options)
    await inA.set('k', 'old')
    expect(await inB.get('k')).toBe('old')
    let reconnected = 0
    b.bus.onReconnect(() => reconnected++)
    await server.cli('CLIENT', 'KILL', 'TYPE', 'pubsub')
    await inA.set('k', 'new') // its message may be lost: B's subscriber is down
    await waitFor(() => reconnected > 0, { message: 'B never reconnected' })
    expect(await inB.get('k')).toBe('new')
    await Promise.all([a.close(), b.close()])
  })
})

describe('grace while Redis is down', () => {
  it('serves the last value within grace without calling the factory, and calls it after grace', async () => {
    const down = await startRedis()
    const kit = createRedkit({
      url: down.url,
      app: 'grace',
      commandTimeout: 300,
      breaker: { threshold: 1, cooldown: '1m' },
    })
    const cache = kit.cache('c', { ttl: 100, grace: 700, l1: { max: 10 } })
    await cache.getOrSet('k', () => 'last good')
    await down.kill9()
    let calls = 0
    const factory = () => {
      calls++
      return 'from factory'
    }
    expect(await cache.getOrSet('k', factory)).toBe('last good') // fresh L1 copy or grace: either is the last value
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(await cache.getOrSet('k', factory)).toBe('last good')
    expect(calls).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 800))
    expect(await cache.getOrSet('k', factory)).toBe('from factory')
    expect(calls).toBe(1)
    await kit.close()
    await down.stop()
  })
})

describe('distributed lock', () => {
  it('1,000 concurrent callers across 4 processes make exactly one factory call', async () => {
    const app = `stampede${randomUUID().slice(0, 6)}`
    const workers = Array.from({ length: 4 }, () =>
      runWorker([server.url, app, 'hot', '250', '300', '10000']),
    )
    const codes = await Promise.all(workers.map((w) => w.exit))
    expect(codes).toEqual([0, 0, 0, 0])
    const values = new Set(
      workers.flatMap((w) => JSON.parse(w.output().trim().split('\n').at(-1)!) as string[]),
    )
    expect(values.size).toBe(1)
    expect(await server.cli('GET', `${app}:factory-calls:hot`)).toBe('1')
  }, 60_000)

  it('when the holder dies mid-factory, another instance takes over within the lock ttl', async () => {
    const app = `holder${randomUUID().slice(0, 6)}`
    const holder = runWorker([server.url, app, 'k', '1', '30000', '1000'])
    await waitFor(() => holder.output().includes('factory started'), {
      timeoutMs: 15_000,
      message: 'holder did not start',
    })
    holder.child.kill('SIGKILL')
    await holder.exit
    const kit = createRedkit({ url: server.url, app })
    const cache = kit.cache('locked', { ttl: '1m', lock: { ttl: 1000, wait: '20s' } })
    const started = performance.now()
    expect(await cache.getOrSet('k', () => 'taken over')).toBe('taken over')
    const waited = performance.now() - started
    expect(waited).toBeLessThan(2500)
    expect((kit.metrics().cache as Record<string, { lockWaits: number }>).locked!.lockWaits).toBeGreaterThan(
      0,
    )
    await kit.close()
  }, 30_000)
})
