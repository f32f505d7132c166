import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis, stopAllServers } from '../../test/harness/index.js'
import { createRedkit, type Logger, RedkitClosedError } from '../index.js'

let server: RedisServer

beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => stopAllServers())

/** Connections the server sees, by name. */
async function clientNames(): Promise<string[]> {
  const list = await server.cli('CLIENT', 'LIST')
  return list
    .split('\n')
    .map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name !== '' && !name.startsWith('probe'))
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const record = (fields: Record<string, unknown>, message: string) => {
    lines.push(`${message} ${JSON.stringify(fields)}`)
  }
  return { lines, debug: record, info: record, warn: record, error: record }
}

describe('ConnectionManager on a real Redis', () => {
  it('opens nothing until used, then exactly one connection per role for 100 concurrent first calls', async () => {
    const kit = createRedkit({ url: server.url, app: 'lazy1' })
    expect((await clientNames()).filter((n) => n.startsWith('lazy1:'))).toEqual([])
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        kit.store.set(`lazy1:k${i}`, String(i)).then(() => kit.store.get(`lazy1:k${i}`)),
      ),
    )
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => String(i)))
    const offs = await Promise.all(
      Array.from({ length: 100 }, (_, i) => kit.bus.subscribe(`ch${i}`, () => {})),
    )
    const names = (await clientNames()).filter((n) => n.startsWith('lazy1:')).sort()
    expect(names).toEqual(['lazy1:command', 'lazy1:subscriber'])
    await Promise.all(offs.map((off) => off()))
    await kit.close()
  })

  it('names connections <app>:<role> with CLIENT SETNAME', async () => {
    const kit = createRedkit({ url: server.url, app: 'named' })
    await kit.ready()
    expect(await clientNames()).toContain('named:command')
    await kit.close()
  })

  it('close() is idempotent, waits for in-flight commands, and later calls reject', async () => {
    const kit = createRedkit({ url: server.url, app: 'closing' })
    await kit.ready()
    const slow = kit.store.runScript.bind(kit.store)
    kit.store.defineScript({
      name: 'test.sleep',
      lua: "local t = redis.call('TIME'); local start = t[1] * 1000000 + t[2]; while true do local n = redis.call('TIME'); if (n[1] * 1000000 + n[2]) - start > 200000 then break end end; return 'done'",
      memory: () => 'done',
    })
    const inFlight = slow('test.sleep', [], [])
    const first = kit.close()
    const second = kit.close()
    expect(second).toBe(first)
    await expect(inFlight).resolves.toBe('done')
    await first
    await expect(kit.store.get('x')).rejects.toBeInstanceOf(RedkitClosedError)
    const deadline = Date.now() + 2000
    while ((await clientNames()).some((n) => n.startsWith('closing:')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    expect((await clientNames()).filter((n) => n.startsWith('closing:'))).toEqual([])
  })

  it('reports health with latency, server facts and roles', async () => {
    const kit = createRedkit({ url: server.url, app: 'health' })
    const report = await kit.health()
    expect(report.status).toBe('healthy')
    expect(report.mode).toBe('redis')
    expect(report.breaker).toBe('closed')
    expect(report.roles.command?.status).toBe('ready')
    expect(report.roles.command?.latencyMs).toBeGreaterThanOrEqual(0)
    expect(report.roles.subscriber?.status).toBe('idle')
    expect(report.server?.version).toMatch(/^\d+\.\d+/)
    expect(report.server?.usedMemoryBytes).toBeGreaterThan(0)
    expect(report.server?.maxmemoryPolicy).toBe('noeviction')
    await kit.close()
  })

  it('never shows the password in logs, errors or inspect() output', async () => {
    const password = 'pw-4f8b1c-never-print-me'
    const secured = await startRedis({ password })
    const logger = recordingLogger()
    const url = `redis://:${password}@127.0.0.1:${secured.port}`
    const kit = createRedkit({
      url,
      app: 'secret',
      logger,
      commandTimeout: 300,
      breaker: { threshold: 1, cooldown: 60_000 },
    })
    await kit.store.set('secret:k', 'v')
    expect(await kit.store.get('secret:k')).toBe('v')
    expect(inspect(kit, { depth: 20, showHidden: true })).not.toContain(password)
    expect(JSON.stringify(kit)).not.toContain(password)
    const health = await kit.health()
    expect(JSON.stringify(health)).not.toContain(password)
    await secured.kill9()
    const error = await kit.store.get('secret:k').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(String(error)).not.toContain(password)
    expect(inspect(error, { depth: 20 })).not.toContain(password)
    const wrong = createRedkit({
      url: `redis://:wrong-${password}@127.0.0.1:${server.port}`,
      app: 'wrongpw',
      logger,
    })
    const denied = await wrong.store.get('x').catch((e: unknown) => e)
    expect(String(denied)).not.toContain(password)
    await wrong.close()
    await kit.close()
    expect(logger.lines.length).toBeGreaterThan(0)
    for (const line of logger.lines) expect(line).not.toContain(password)
  })
})
