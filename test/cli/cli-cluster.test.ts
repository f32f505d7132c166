// `npx redkit` as a child process against a real Redis Cluster: doctor checks every master, stats and
// keys scan every master, a tag invalidation reaches entries in every slot.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DoctorReport } from '../../src/cli/doctor.js'
import type { InvalidateResult } from '../../src/cli/invalidate.js'
import type { KeysResult } from '../../src/cli/keys.js'
import type { StatsReport } from '../../src/cli/stats.js'
import { createRedkit, type Redkit } from '../../src/index.js'
import { type RedisCluster, startCluster, stopAllServers } from '../harness/index.js'
import { runCli } from './run-cli.js'

const ENTRIES = 60
let cluster: RedisCluster
let kit: Redkit
let seeds: string

beforeAll(async () => {
  cluster = await startCluster()
  seeds = cluster.nodes
    .slice(0, 2)
    .map((node) => `${node.host}:${node.port}`)
    .join(',')
  kit = createRedkit({ cluster: { nodes: cluster.nodes.slice(0, 2) }, app: 'cl' })
  const products = kit.cache('products', { ttl: '10m' })
  for (let i = 0; i < ENTRIES; i++) await products.set(['product', i], { id: i }, { tags: ['vendor:7'] })
}, 120_000)

afterAll(async () => {
  await kit?.close()
  await stopAllServers()
})

describe('redkit on a Cluster', () => {
  it('doctor checks each of the three masters', async () => {
    const run = await runCli(['doctor', '--json', '--pings', '5', '--cluster', seeds, '--app', 'cl'])
    expect(run.code, run.stdout + run.stderr).toBe(0)
    const report = run.json<DoctorReport>()
    expect(report.mode).toBe('cluster')
    const versions = report.checks.filter((check) => check.check === 'version')
    expect(versions).toHaveLength(3)
    const masters = (await cluster.masters()).map((server) => `127.0.0.1:${server.port}`).sort()
    expect(versions.map((check) => check.node).sort()).toEqual(masters)
    for (const name of ['acl', 'latency', 'eviction']) {
      expect(report.checks.filter((check) => check.check === name && check.status === 'ok')).toHaveLength(3)
    }
  })

  it('stats and keys see the entries of every master', async () => {
    const stats = (await runCli(['stats', '--json', '--cluster', seeds, '--app', 'cl'])).json<StatsReport>()
    expect(stats.namespaces.find((ns) => ns.name === 'cache:products')).toMatchObject({ keys: ENTRIES })
    expect(stats.tags).toMatchObject({
      indexedEntries: ENTRIES,
      largest: [{ tag: 'vendor:7', entries: ENTRIES }],
    })
    const keys = (
      await runCli([
        'keys',
        'cache:products:*',
        '--json',
        '--limit',
        '1000',
        '--cluster',
        seeds,
        '--app',
        'cl',
      ])
    ).json<KeysResult>()
    expect(keys.keys).toHaveLength(ENTRIES)
    expect(keys.truncated).toBe(false)
  })

  it('invalidates a tag whose entries span every slot', async () => {
    const run = await runCli([
      'invalidate',
      '--tag',
      'vendor:7',
      '--yes',
      '--json',
      '--cluster',
      seeds,
      '--app',
      'cl',
    ])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json<InvalidateResult>()).toMatchObject({ matches: ENTRIES, deleted: ENTRIES })
    const fresh = createRedkit({ cluster: { nodes: cluster.nodes.slice(0, 2) }, app: 'cl' })
    try {
      expect(await fresh.cache('products').get(['product', 3])).toBeUndefined()
    } finally {
      await fresh.close()
    }
  })
})
