// Tests of the test harness itself against real redis-server processes: lifecycle, chaos controls,
// auth, TLS, cluster, sentinel, and that no server or temp dir outlives its test process.

import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis, type RedisOptions } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import {
  freePort,
  makeTlsFiles,
  type RedisServer,
  startCluster,
  startRedis,
  startSentinel,
  stopAllServers,
  waitFor,
} from './index.js'

afterAll(() => stopAllServers())

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(here, '..', '..')

// A SIGKILLed server whose parent already exited may linger as a zombie until init reaps it;
// for these tests a zombie is gone.
function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

/** Sends raw bytes to a port and collects what comes back until the server closes or goes quiet. */
function rawExchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    let received = ''
    socket.setTimeout(2000, () => socket.destroy())
    socket.on('connect', () => socket.write(payload))
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1')
    })
    // A reset is one way the server refuses; the caller only looks at what arrived.
    socket.on('error', () => socket.destroy())
    socket.on('close', () => resolve(received))
  })
}

function client(server: RedisServer, extra: RedisOptions = {}): Redis {
  return new Redis({
    host: server.host,
    port: server.port,
    protocol: 2,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...extra,
  })
}

describe('startRedis', () => {
  it('starts a server that answers PING, with persistence off, and stops it idempotently', async () => {
    const server = await startRedis()
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    expect(await server.cli('PING')).toBe('PONG')
    expect(await server.cli('CONFIG', 'GET', 'save')).toBe('save')
    expect(await server.cli('CONFIG', 'GET', 'appendonly')).toBe('appendonly\nno')
    expect(await server.cli('CONFIG', 'GET', 'dir')).toBe(`dir\n${server.dir}`)
    expect(readFileSync(server.logFile, 'utf8')).toContain('Ready to accept connections')

    const redis = new Redis(server.url, { protocol: 2 })
    expect(await redis.ping()).toBe('PONG')
    redis.disconnect()

    const pid = server.pid
    await server.stop()
    expect(isGone(pid)).toBe(true)
    await expect(server.cli('PING')).rejects.toThrow(/Could not connect/)
    await server.stop()
  })

  it('rejects with the end of the server log when the server cannot start', async () => {
    await expect(startRedis({ args: ['--no-such-directive', 'x'] })).rejects.toThrow(/Bad directive/)
  })

  it('does not move a fixed port that is taken, and says why', async () => {
    const blocker = await startRedis()
    await expect(startRedis({ port: blocker.port })).rejects.toThrow(
      new RegExp(`port ${blocker.port}[\\s\\S]*Address already in use`),
    )
    expect(await blocker.cli('PING')).toBe('PONG')
    await blocker.stop()
  })

  it('rejects a command error instead of returning the error text', async () => {
    const server = await startRedis()
    await server.cli('SET', 'text', 'abc')
    await expect(server.cli('INCR', 'text')).rejects.toThrow(/not an integer/)
    await server.stop()
  })

  it('uses a fixed port when asked', async () => {
    const port = await freePort()
    const server = await startRedis({ port })
    expect(server.port).toBe(port)
    expect(await server.cli('PING')).toBe('PONG')
    await server.stop()
  })

  it('kill9 ends the process; restart brings it back empty on the same port', async () => {
    const server = await startRedis()
    const { port, pid } = server
    await server.cli('SET', 'k', 'v')
    await server.kill9()
    expect(isGone(pid)).toBe(true)
    await expect(server.cli('PING')).rejects.toThrow(/Could not connect/)

    await server.restart()
    expect(server.port).toBe(port)
    expect(server.pid).not.toBe(pid)
    expect(await server.cli('PING')).toBe('PONG')
    // Nothing was persisted, so this is a fresh server, not the old one.
    expect(await server.cli('EXISTS', 'k')).toBe('0')

    // restart() of a running server kills it first.
    const secondPid = server.pid
    await server.restart()
    expect(isGone(secondPid)).toBe(true)
    expect(await server.cli('PING')).toBe('PONG')
    await server.stop()
  })

  it('pause makes commands time out and resume makes them answer again', async () => {
    const server = await startRedis()
    const redis = client(server, { commandTimeout: 300 })
    await redis.connect()
    expect(await redis.ping()).toBe('PONG')

    server.pause()
    await expect(redis.ping()).rejects.toThrow(/timed out/i)
    server.resume()
    expect(await redis.ping()).toBe('PONG')

    // stop() of a paused server still ends it (it is resumed first).
    server.pause()
    const pid = server.pid
    await server.stop()
    expect(isGone(pid)).toBe(true)
    redis.disconnect()
  })

  it('a password server rejects unauthenticated commands', async () => {
    const server = await startRedis({ password: 's3 cr@t' })
    expect(server.url).toBe(`redis://:${encodeURIComponent('s3 cr@t')}@127.0.0.1:${server.port}`)
    expect(await server.cli('PING')).toBe('PONG')

    const anonymous = client(server)
    const connectionErrors: Error[] = []
    anonymous.on('error', (error: Error) => connectionErrors.push(error))
    await expect(anonymous.get('k')).rejects.toThrow(/NOAUTH/)
    anonymous.disconnect()

    const authed = new Redis(server.url, { protocol: 2 })
    expect(await authed.ping()).toBe('PONG')
    authed.disconnect()
    await server.stop()
  })

  it('setMaxmemory changes maxmemory and the policy', async () => {
    const server = await startRedis()
    await server.setMaxmemory(10 * 1024 * 1024, 'allkeys-lru')
    expect(await server.cli('CONFIG', 'GET', 'maxmemory')).toBe('maxmemory\n10485760')
    expect(await server.cli('CONFIG', 'GET', 'maxmemory-policy')).toBe('maxmemory-policy\nallkeys-lru')
    await server.setMaxmemory(0)
    expect(await server.cli('CONFIG', 'GET', 'maxmemory')).toBe('maxmemory\n0')
    await server.stop()
  })
})

describe('TLS', () => {
  it('serves TLS only, verified against the generated CA', async () => {
    const files = await makeTlsFiles()
    const server = await startRedis({ tls: files, password: 'pw' })
    expect(server.url).toBe(`rediss://:pw@127.0.0.1:${server.port}`)
    expect(await server.cli('PING')).toBe('PONG')
    expect(await server.cli('CONFIG', 'GET', 'port')).toBe('port\n0')

    // Node verifies the certificate against the CA, including the 127.0.0.1 SAN.
    const secure = new Redis(server.url, { protocol: 2, tls: { ca: readFileSync(files.ca) } })
    expect(await secure.ping()).toBe('PONG')
    secure.disconnect()

    // A plain RESP PING on the TLS port gets no PONG: the server drops the non-TLS handshake.
    const reply = await rawExchange(server.port, '*1\r\n$4\r\nPING\r\n')
    expect(reply).not.toContain('PONG')
    await server.stop()
  })
})

describe('startCluster', () => {
  it('creates a healthy 6-node cluster that redirects keys between nodes', async () => {
    const started = performance.now()
    const cluster = await startCluster()
    console.log(`cluster ready in ${Math.round(performance.now() - started)} ms`)

    expect(cluster.nodes).toHaveLength(6)
    for (const server of cluster.servers) {
      expect(await server.cli('CLUSTER', 'INFO')).toMatch(/cluster_state:ok/)
    }
    const masters = await cluster.masters()
    expect(masters).toHaveLength(3)

    const [first, last] = [cluster.servers[0]!, cluster.servers[5]!]
    for (const key of ['alpha', 'beta', 'gamma']) {
      await first.cli('-c', 'SET', key, `value-${key}`)
      expect(await last.cli('-c', 'GET', key)).toBe(`value-${key}`)
    }
    // The keys live on their slot owners only, not on every node.
    const counts = await Promise.all(masters.map((server) => server.cli('DBSIZE')))
    expect(counts.map(Number).reduce((a, b) => a + b, 0)).toBe(3)

    await cluster.stop()
    for (const server of cluster.servers) await expect(server.cli('PING')).rejects.toThrow()
  })
})

describe('startSentinel', () => {
  it('sentinel reports the master address and knows the replica', async () => {
    const setup = await startSentinel({ password: 'sentinel-pw' })
    const sentinel = setup.sentinelServers[0]!
    expect(setup.sentinels).toEqual([{ host: '127.0.0.1', port: sentinel.port }])
    expect(await sentinel.cli('SENTINEL', 'get-master-addr-by-name', setup.name)).toBe(
      `127.0.0.1\n${setup.master.port}`,
    )
    expect(await setup.replica.cli('ROLE')).toMatch(/^slave\n127\.0\.0\.1\n/)

    const redis = new Redis({
      sentinels: setup.sentinels,
      name: setup.name,
      password: 'sentinel-pw',
      protocol: 2,
    })
    await redis.set('through-sentinel', '1')
    expect(await setup.master.cli('GET', 'through-sentinel')).toBe('1')
    redis.disconnect()
    await setup.stop()
  })
})

describe('waitFor', () => {
  it('resolves with the first truthy value, retrying falsy values and errors', async () => {
    let calls = 0
    const value = await waitFor(
      () => {
        calls++
        if (calls === 1) throw new Error('not yet')
        return calls >= 3 ? `done after ${calls}` : false
      },
      { intervalMs: 1 },
    )
    expect(value).toBe('done after 3')
  })

  it('rejects with the message and the last error after the deadline', async () => {
    const started = Date.now()
    await expect(
      waitFor(
        () => {
          throw new Error('still broken')
        },
        { timeoutMs: 100, message: 'never healthy' },
      ),
    ).rejects.toThrow(/never healthy.*still broken/)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('does not let a hanging check outlive the deadline', async () => {
    const started = Date.now()
    await expect(waitFor(() => new Promise<boolean>(() => {}), { timeoutMs: 100 })).rejects.toThrow(/pending/)
    expect(Date.now() - started).toBeLessThan(1000)
  })
})

describe('cleanup', () => {
  const fixture = join(here, 'fixtures', 'hold-servers.ts')
  interface Held {
    pids: number[]
    dirs: string[]
  }

  function runFixture(mode: 'return' | 'hold' | 'reap'): { child: ChildProcess; held: Promise<Held> } {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const held = new Promise<Held>((resolve, reject) => {
      let output = ''
      child.stdout?.on('data', (chunk) => {
        output += chunk
        const newline = output.indexOf('\n')
        if (newline !== -1) resolve(JSON.parse(output.slice(0, newline)) as Held)
      })
      child.once('exit', (code, signal) =>
        reject(new Error(`fixture ended (${code ?? signal}) before printing`)),
      )
    })
    // 'reap' prints nothing; its rejection is expected and must not surface as unhandled.
    held.catch(() => {})
    return { child, held }
  }

  function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    }
    return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  }

  it('a test process that simply ends is not held open by its servers, and kills them', async () => {
    const { child, held } = runFixture('return')
    const { pids, dirs } = await held
    expect(await exited(child)).toEqual({ code: 0, signal: null })
    expect(pids.map(isGone)).toEqual([true, true])
    expect(dirs.map(existsSync)).toEqual([false, false])
  })

  it('SIGTERM (how vitest ends its workers) kills running and paused servers, then terminates', async () => {
    const { child, held } = runFixture('hold')
    const { pids, dirs } = await held
    expect(pids.map(isGone)).toEqual([false, false])
    child.kill('SIGTERM')
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGTERM' })
    expect(pids.map(isGone)).toEqual([true, true])
    expect(dirs.map(existsSync)).toEqual([false, false])
  })

  it('servers of a SIGKILLed test process are reaped by the next one', async () => {
    const first = runFixture('hold')
    const { pids, dirs } = await first.held
    first.child.kill('SIGKILL')
    await exited(first.child)
    // Nothing could run in the killed process, so its servers are orphans now.
    expect(pids.map(isGone)).toEqual([false, false])

    const second = runFixture('reap')
    expect((await exited(second.child)).code).toBe(0)
    expect(pids.map(isGone)).toEqual([true, true])
    expect(dirs.map(existsSync)).toEqual([false, false])
  })
})
