// Security on a 6-node Redis Cluster served over TLS only (bus and replication too): every feature as a
// restricted ACL user with the certificates verified, a wrong CA failing fast and typed, no credential printed.

import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, RedisUnavailableError, type Redkit, type RedkitOptions } from '../../src/index.js'
import {
  collectingLogger,
  makeTlsFiles,
  type RedisCluster,
  startCluster,
  stopAllServers,
  type TlsFiles,
  timed,
} from '../harness/index.js'
import { APP_ACL, expectNoLeak, runEveryFeature } from './security-workload.js'

const ADMIN_PASSWORD = 'cluster-admin-Pw-4b2e'
const APP_PASSWORD = 'cluster-app-Pw-7f31-never-printed'
let files: TlsFiles
let cluster: RedisCluster
const opened: Redkit[] = []

beforeAll(async () => {
  files = await makeTlsFiles()
  cluster = await startCluster({ tls: files, password: ADMIN_PASSWORD })
  // ACL users are per node: the operator sets the same user on every one, replicas included.
  await Promise.all(
    cluster.servers.map((server) => server.cli('ACL', 'SETUSER', 'app', ...APP_ACL, `>${APP_PASSWORD}`)),
  )
}, 120_000)
afterAll(async () => {
  await Promise.all(opened.map((kit) => kit.close()))
  await stopAllServers()
})

function open(options: RedkitOptions): Redkit {
  const kit = createRedkit({
    cluster: { nodes: cluster.nodes.slice(0, 2) },
    username: 'app',
    password: APP_PASSWORD,
    app: 'secc',
    environment: {},
    ...options,
  })
  opened.push(kit)
  return kit
}

describe('a TLS Cluster with a restricted ACL user', () => {
  it('runs every feature with the certificates verified and no command but INFO refused', async () => {
    const logger = collectingLogger()
    const tls = { ca: readFileSync(files.ca) }
    const kit = open({ tls, logger })
    const peer = open({ tls, cluster: { nodes: cluster.nodes.slice(3) } })
    await Promise.all(cluster.servers.map((server) => server.cli('ACL', 'LOG', 'RESET')))
    await runEveryFeature(kit, peer)
    const health = await kit.health()
    expect(health).toMatchObject({ status: 'healthy', mode: 'cluster' })
    for (const server of cluster.servers) {
      const log = (await server.cli('ACL', 'LOG')).split('\n').map((line) => line.trim())
      const objects = log.flatMap((line, i) => (line === 'object' ? [log[i + 1]] : []))
      expect(objects.filter((command) => command !== 'info')).toEqual([])
    }
    await expectNoLeak(kit, APP_PASSWORD, { records: logger.records, errors: [] })
  })

  it('fails fast with a typed error under a wrong CA, and leaks nothing', async () => {
    const otherCa = await makeTlsFiles()
    const logger = collectingLogger()
    const kit = open({
      tls: { ca: readFileSync(otherCa.ca) },
      logger,
      commandTimeout: 1000,
      connectTimeout: 2000,
    })
    const { ms, error } = await timed(() => kit.store.get('k'))
    expect(error).toBeInstanceOf(RedisUnavailableError)
    // The reason is the nodes' own TLS error, not the Cluster client's "All the root nodes are unavailable".
    expect((error as Error).message).toMatch(/certificate/i)
    expect(ms).toBeLessThan(3000)
    expect(await kit.cache('tls', { ttl: '1m' }).getOrSet('k', () => 'factory')).toBe('factory')
    for (const secret of [APP_PASSWORD, ADMIN_PASSWORD]) {
      await expectNoLeak(kit, secret, { records: logger.records, errors: [error] })
    }
  })
})
