// Security on one redis-server: every feature under a restricted ACL user (checked against ACL LOG),
// TLS with certificate verification, a wrong CA failing fast and typed, and no credential ever printed.

import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, RedisAuthError, RedisUnavailableError, type Redkit } from '../../src/index.js'
import {
  collectingLogger,
  leaks,
  makeTlsFiles,
  type RedisServer,
  renderings,
  startRedis,
  stopAllServers,
  type TlsFiles,
  timed,
} from '../harness/index.js'
import { APP_ACL, expectNoLeak, runEveryFeature } from './security-workload.js'

const ADMIN_PASSWORD = 'admin-Pw-0f-the-operator'
const APP_PASSWORD = 'app-Pw-9c1d-never-printed'
const opened: Redkit[] = []

afterAll(async () => {
  await Promise.all(opened.map((kit) => kit.close()))
  await stopAllServers()
})

function open(url: string, options: Parameters<typeof createRedkit>[0] = {}): Redkit {
  const kit = createRedkit({ url, app: 'sec', environment: {}, ...options })
  opened.push(kit)
  return kit
}

/** Denials ACL LOG recorded for the app user, as `command` names. */
async function denied(server: RedisServer): Promise<string[]> {
  const log = await server.cli('ACL', 'LOG')
  // redis-cli prints each entry as flat "field\nvalue" lines: pick the object (command) of the app user.
  const lines = log.split('\n').map((line) => line.trim())
  const commands: string[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === 'object' && lines.slice(Math.max(0, i - 8), i + 8).includes('app'))
      commands.push(lines[i + 1]!)
  }
  return commands
}

describe('a restricted ACL user on one node', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis({ password: ADMIN_PASSWORD })
    await server.cli('ACL', 'SETUSER', 'app', ...APP_ACL, `>${APP_PASSWORD}`)
  })

  it('runs every feature without a single command refused', async () => {
    const logger = collectingLogger()
    const url = `redis://app:${APP_PASSWORD}@127.0.0.1:${server.port}`
    const kit = open(url, { logger })
    const peer = open(url, { logger })
    await server.cli('ACL', 'LOG', 'RESET')
    await runEveryFeature(kit, peer)
    // Health reads INFO, which -@dangerous takes away: still healthy, the server section says why.
    const health = await kit.health()
    expect(health.status).toBe('healthy')
    expect(health.server).toMatchObject({ error: expect.stringMatching(/NOPERM|permission/i) })
    // Nothing but INFO (health, and the eviction-policy check of queueConnection) was refused.
    const refused = await denied(server)
    expect(refused).toContain('info')
    expect(refused.filter((command) => command !== 'info')).toEqual([])
    await expectNoLeak(kit, APP_PASSWORD, { records: logger.records, errors: [] })
  })

  it('reports server memory and version in health once +info is granted', async () => {
    await server.cli('ACL', 'SETUSER', 'app', '+info')
    try {
      const kit = open(`redis://app:${APP_PASSWORD}@127.0.0.1:${server.port}`)
      const health = await kit.health()
      expect(health.status).toBe('healthy')
      expect(health.server).toMatchObject({
        version: expect.any(String),
        usedMemoryBytes: expect.any(Number),
      })
      expect(health.server).not.toHaveProperty('error')
    } finally {
      await server.cli('ACL', 'SETUSER', 'app', '-info')
    }
  })

  it('refuses a wrong password with RedisAuthError at once, and prints neither password', async () => {
    const logger = collectingLogger()
    const wrong = 'wrong-Pw-5e77-also-secret'
    const kit = open(`redis://app:${wrong}@127.0.0.1:${server.port}`, { logger, commandTimeout: 1000 })
    const { ms, error } = await timed(() => kit.store.get('k'))
    expect(error).toBeInstanceOf(RedisAuthError)
    expect(ms).toBeLessThan(1500)
    const cache = kit.cache('down', { ttl: '1m' })
    expect(await cache.getOrSet('k', () => 'from factory')).toBe('from factory')
    for (const secret of [wrong, APP_PASSWORD, ADMIN_PASSWORD]) {
      await expectNoLeak(kit, secret, { records: logger.records, errors: [error] })
    }
  })
})

describe('TLS on one node', () => {
  let files: TlsFiles
  let server: RedisServer
  beforeAll(async () => {
    files = await makeTlsFiles()
    server = await startRedis({ tls: files, password: ADMIN_PASSWORD })
    await server.cli('ACL', 'SETUSER', 'app', ...APP_ACL, `>${APP_PASSWORD}`)
  })

  it('runs every feature over rediss:// with the server certificate verified, as the ACL user', async () => {
    const logger = collectingLogger()
    const url = `rediss://app:${APP_PASSWORD}@127.0.0.1:${server.port}`
    const tls = { ca: readFileSync(files.ca) }
    const kit = open(url, { tls, logger })
    const peer = open(url, { tls })
    await runEveryFeature(kit, peer)
    expect((await kit.health()).status).toBe('healthy')
    await expectNoLeak(kit, APP_PASSWORD, { records: logger.records, errors: [] })
  })

  it('fails fast with a typed error naming the certificate under a wrong CA, and without one', async () => {
    const otherCa = await makeTlsFiles()
    const url = `rediss://app:${APP_PASSWORD}@127.0.0.1:${server.port}`
    for (const tls of [{ ca: readFileSync(otherCa.ca) }, undefined]) {
      const logger = collectingLogger()
      const kit = open(url, { logger, commandTimeout: 1000, connectTimeout: 2000, ...(tls ? { tls } : {}) })
      const { ms, error } = await timed(() => kit.store.get('k'))
      expect(error).toBeInstanceOf(RedisUnavailableError)
      expect((error as Error).message).toMatch(/certificate|TLS/i)
      expect(ms).toBeLessThan(2500)
      // Degrades like an outage: the cache serves its factory.
      expect(await kit.cache('tls', { ttl: '1m' }).getOrSet('k', () => 'factory')).toBe('factory')
      await expectNoLeak(kit, APP_PASSWORD, { records: logger.records, errors: [error] })
    }
  })

  it('refuses a plain redis:// connection to the TLS port with a clear error, not a hang', async () => {
    const kit = open(`redis://app:${APP_PASSWORD}@127.0.0.1:${server.port}`, {
      commandTimeout: 1000,
      connectTimeout: 2000,
    })
    const { ms, error } = await timed(() => kit.store.get('k'))
    expect(error).toBeInstanceOf(RedisUnavailableError)
    expect(ms).toBeLessThan(3000)
    expect(leaks(renderings(error), APP_PASSWORD)).toEqual([])
  })
})
