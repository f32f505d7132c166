// No route body or header carries a credential: every route of both frameworks, on a password-protected
// redis-server, while healthy, with a wrong password, and while the server is down.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { leaks, type RedisServer, renderings, startRedis, stopAllServers, waitFor } from '../harness/index.js'
import { closeAllApps, type Framework, serve, traffic } from './serve.js'

const PASSWORD = 'Pa55-route-secret-7f3a9c'
const WRONG_PASSWORD = 'wrong-route-secret-2b8e1d'
const ROUTES = [
  '/health/live',
  '/health/ready',
  '/health/redis',
  '/health/cache',
  '/metrics/redkit',
  '/cache-tiers',
]

let server: RedisServer
const kits: Redkit[] = []

beforeAll(async () => {
  server = await startRedis({ password: PASSWORD })
})
afterAll(async () => {
  await closeAllApps()
  for (const kit of kits) await kit.close()
  await stopAllServers()
})

/** Every rendering of every route's status line, headers and body, and of the parsed JSON. */
async function everything(url: string): Promise<string[]> {
  const texts: string[] = []
  for (const path of ROUTES) {
    const response = await fetch(url + path)
    const body = await response.text()
    texts.push(`${response.status} ${path}`, JSON.stringify([...response.headers]), body)
    texts.push(...renderings(JSON.parse(body)))
  }
  return texts
}

function kitFor(password: string): Redkit {
  const kit = createRedkit({
    url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${server.port}`,
    app: 'scan',
    environment: {},
    commandTimeout: 500,
    breaker: { threshold: 2, cooldown: 200 },
  })
  kits.push(kit)
  return kit
}

describe.each<Framework>(['express', 'fastify'])('%s route bodies carry no secret', (framework) => {
  it('healthy, with traffic and a keyspace sample', async () => {
    const kit = kitFor(PASSWORD)
    const { url } = await serve(framework, kit, { metrics: { sample: true } })
    await traffic(url).product('1')
    await traffic(url).session('scan-session')
    const texts = await everything(url)
    expect(texts.join('\n')).toContain('"status":"ready"')
    expect(texts.join('\n')).toContain('"keyspace"')
    expect(leaks(texts, PASSWORD)).toEqual([])
    // The scan itself finds the password where it is.
    expect(leaks([...texts, server.url], PASSWORD)).toEqual([server.url])
  })

  it('with a wrong password (authentication fails)', async () => {
    const kit = kitFor(WRONG_PASSWORD)
    const { url } = await serve(framework, kit, { metrics: { sample: true } })
    const texts = await everything(url)
    // The failure is reported, without the password the kit holds or the server's.
    expect(texts.join('\n')).toMatch(/"status":"not_ready"/)
    expect(leaks(texts, WRONG_PASSWORD)).toEqual([])
    expect(leaks(texts, PASSWORD)).toEqual([])
  })
})

describe('while the server is down', () => {
  it('no route of either framework leaks the password in its error reports', async () => {
    const kit = kitFor(PASSWORD)
    const apps = [
      await serve('express', kit, { metrics: { sample: { ttl: 0 } } }),
      await serve('fastify', kit, { metrics: { sample: { ttl: 0 } } }),
    ]
    await traffic(apps[0]!.url).product('2')
    await server.kill9()
    try {
      for (const { url } of apps) {
        const texts = await everything(url)
        expect(texts.join('\n')).toMatch(/"status":"not_ready"/)
        expect(texts.join('\n')).toMatch(/"keyspace":\{"sampledAt".*?"error":"[^"]+"/)
        expect(leaks(texts, PASSWORD)).toEqual([])
      }
    } finally {
      await server.restart()
    }
    await waitFor(async () => (await fetch(`${apps[0]!.url}/health/ready`)).status === 200, {
      timeoutMs: 10_000,
      message: 'not ready again after restart',
    })
  })
})
