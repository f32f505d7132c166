// `npx redkit` as a child process against real redis-servers: doctor (healthy, BullMQ on an evicting
// server, restricted ACL users, crowded connections), stats numbers, invalidate, keys, exit codes, secrets.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DoctorCheck, DoctorReport } from '../../src/cli/doctor.js'
import type { InvalidateResult } from '../../src/cli/invalidate.js'
import type { KeysResult } from '../../src/cli/keys.js'
import type { StatsReport } from '../../src/cli/stats.js'
import { createRedkit, type Redkit } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers } from '../harness/index.js'
import { printed, runCli } from './run-cli.js'

const SECRET = 'cli-Secret-9f3b7c'
const LIMITED_SECRET = 'limited-Secret-41ad'
const APP = ['--app', 'shop', '--env', 'test']

let server: RedisServer
let evicting: RedisServer
let kit: Redkit
let url: string

function checks(report: DoctorReport, name: string): DoctorCheck[] {
  return report.checks.filter((check) => check.check === name)
}

async function seed(): Promise<void> {
  const products = kit.cache('products', { ttl: '10m' })
  for (let i = 0; i < 30; i++) {
    await products.set(['product', i], { id: i, name: 'p'.repeat(200) }, { tags: ['vendor:42'] })
  }
  const users = kit.cache('users', { ttl: '10m' })
  for (let i = 0; i < 5; i++) await users.set(['user', i], { id: i })
  const api = kit.limiter('api', { limit: 10, window: '1m' })
  for (let i = 0; i < 3; i++) await api.consume(`client-${i}`)
}

beforeAll(async () => {
  ;[server, evicting] = await Promise.all([
    startRedis({ password: SECRET }),
    startRedis({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] }),
  ])
  url = server.url
  expect(url).toContain(SECRET)
  kit = createRedkit({ url, app: 'shop', env: 'test' })
  await seed()
})

afterAll(async () => {
  await kit?.close()
  await stopAllServers()
})

describe('redkit doctor', () => {
  it('passes on a healthy server and reports every check as JSON', async () => {
    const run = await runCli(['doctor', '--json', '--pings', '20', '--url', url, ...APP])
    expect(run.code, run.stderr).toBe(0)
    const report = run.json<DoctorReport>()
    expect(report).toMatchObject({ ok: true, mode: 'redis', prefix: 'shop:test:' })
    expect(report.target).toBe(`redis://127.0.0.1:${server.port}/0`)
    expect(checks(report, 'version')[0]).toMatchObject({ status: 'ok', node: `127.0.0.1:${server.port}` })
    expect(checks(report, 'memory')[0]?.status).toBe('warn') // maxmemory 0
    expect(checks(report, 'eviction')[0]?.status).toBe('ok')
    expect(checks(report, 'acl')[0]).toMatchObject({
      status: 'ok',
      details: { user: 'default', method: 'dryrun' },
    })
    const latency = checks(report, 'latency')[0]!
    expect(latency.details).toMatchObject({ pings: 20 })
    expect(latency.details?.p99Ms).toBeGreaterThanOrEqual(latency.details?.p50Ms as number)
    expect(checks(report, 'tls')[0]).toMatchObject({ status: 'ok', details: { tls: false } })
    expect(report.summary.fail).toBe(0)
  })

  it('prints a readable table, reading the url from REDIS_URL', async () => {
    const run = await runCli(['doctor', '--pings', '5', ...APP], { REDIS_URL: url })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/\[ok\]\s+version\s+127\.0\.0\.1:\d+\s+Redis \d+\.\d+/)
    expect(run.stdout).toMatch(/\d+ ok, \d+ warnings?, 0 failed, 0 not permitted/)
  })

  it('fails the eviction check on allkeys-lru when BullMQ is declared or its keys exist', async () => {
    const plain = await runCli(['doctor', '--json', '--pings', '2', '--url', evicting.url])
    expect(plain.code, plain.stderr).toBe(0)
    expect(checks(plain.json<DoctorReport>(), 'eviction')[0]?.status).toBe('ok')

    const declared = await runCli(['doctor', '--json', '--pings', '2', '--bullmq', '--url', evicting.url])
    expect(declared.code).toBe(1)
    const eviction = checks(declared.json<DoctorReport>(), 'eviction')[0]!
    expect(eviction.status).toBe('fail')
    expect(eviction.message).toContain("'allkeys-lru'")
    expect(eviction.message).toContain('noeviction')

    await evicting.cli('HSET', 'bull:emails:meta', 'opts.maxLenEvents', '10000')
    const found = await runCli(['doctor', '--json', '--pings', '2', '--url', evicting.url])
    expect(found.code).toBe(1)
    const byKeys = checks(found.json<DoctorReport>(), 'eviction')[0]!
    expect(byKeys.status).toBe('fail')
    expect(byKeys.message).toContain('bull:emails:meta')
    // Without persistence, queued jobs die with a restart.
    expect(checks(found.json<DoctorReport>(), 'persistence')[0]?.status).toBe('warn')
    await evicting.cli('DEL', 'bull:emails:meta')
  })

  it('reports "not permitted" for what a restricted ACL user may not run, without crashing', async () => {
    await server.cli(
      'ACL',
      'SETUSER',
      'appuser',
      'on',
      `>${LIMITED_SECRET}`,
      'resetkeys',
      '~shop:test:*',
      'resetchannels',
      '&shop:test:*',
      '+@all',
      '-@admin',
      '-@dangerous',
      '-info',
    )
    const appUrl = `redis://appuser:${LIMITED_SECRET}@127.0.0.1:${server.port}`
    const run = await runCli(['doctor', '--json', '--pings', '2', '--url', appUrl, ...APP])
    expect(run.code, run.stdout + run.stderr).toBe(0)
    const report = run.json<DoctorReport>()
    for (const name of ['version', 'memory', 'clients', 'persistence']) {
      expect(checks(report, name)[0], name).toMatchObject({ status: 'not-permitted' })
      expect(checks(report, name)[0]?.message).toContain('NOPERM')
    }
    // ACL DRYRUN is an admin command: the permissions are probed instead.
    expect(checks(report, 'acl')[0]).toMatchObject({
      status: 'ok',
      details: { user: 'appuser', method: 'probe' },
    })
    expect(report.summary['not-permitted']).toBe(4)
    expect(run.stdout + run.stderr).not.toContain(LIMITED_SECRET)
  })

  it('fails the ACL check when a command redkit needs is denied, naming it', async () => {
    await server.cli(
      'ACL',
      'SETUSER',
      'noscripts',
      'on',
      `>${LIMITED_SECRET}`,
      '~*',
      '&*',
      '+@all',
      '-evalsha',
      '-eval',
    )
    const denied = `redis://noscripts:${LIMITED_SECRET}@127.0.0.1:${server.port}`
    const run = await runCli(['doctor', '--json', '--pings', '2', '--url', denied, ...APP])
    expect(run.code).toBe(1)
    const acl = checks(run.json<DoctorReport>(), 'acl')[0]!
    expect(acl.status).toBe('fail')
    expect(acl.details?.method).toBe('dryrun')
    expect(acl.details?.missing).toEqual(['EVALSHA', 'EVAL'])

    const text = await runCli(['doctor', '--pings', '2', '--url', denied, ...APP])
    expect(text.code).toBe(1)
    expect(text.stdout).toMatch(/\[FAIL\] acl .*EVALSHA, EVAL/)
  })

  it('warns when an app holds more connections per host than one command and one subscriber', async () => {
    const crowd = [1, 2].map(() => createRedkit({ url, app: 'crowd' }))
    try {
      for (const member of crowd) {
        await member.ready()
        await member.bus.subscribe('ping', () => {})
      }
      const run = await runCli(['doctor', '--json', '--pings', '2', '--url', url, ...APP])
      expect(run.code, run.stderr).toBe(0)
      const clients = checks(run.json<DoctorReport>(), 'clients')[0]!
      expect(clients.status).toBe('warn')
      expect(clients.details?.byName).toMatchObject({ 'crowd:command': 2, 'crowd:subscriber': 2 })
      expect(clients.details?.crowded).toEqual([{ app: 'crowd', ip: '127.0.0.1', connections: 4 }])
      // The CLI's own connection is not counted.
      expect(
        Object.keys(clients.details?.byName as object).some((name) => name.startsWith('redkit-cli')),
      ).toBe(false)

      const relaxed = await runCli([
        'doctor',
        '--json',
        '--pings',
        '2',
        '--processes-per-host',
        '2',
        '--url',
        url,
      ])
      expect(checks(relaxed.json<DoctorReport>(), 'clients')[0]?.status).toBe('ok')
    } finally {
      await Promise.all(crowd.map((member) => member.close()))
    }
  })

  it('fails the connect check, without the password, when the credentials are wrong', async () => {
    const wrong = `redis://:not-${SECRET}@127.0.0.1:${server.port}`
    const run = await runCli(['doctor', '--json', '--url', wrong])
    expect(run.code).toBe(1)
    const report = run.json<DoctorReport>()
    expect(report.ok).toBe(false)
    expect(report.checks[0]).toMatchObject({ check: 'connect', status: 'fail' })
    expect(report.checks[0]?.message).toContain('WRONGPASS')
  })
})

describe('redkit stats', () => {
  it('counts the keys of each namespace exactly and estimates their memory', async () => {
    const run = await runCli(['stats', '--json', '--url', url, ...APP])
    expect(run.code, run.stderr).toBe(0)
    const report = run.json<StatsReport>()
    expect(report).toMatchObject({ prefix: 'shop:test:', estimate: true, samplesPerNamespace: 20 })
    const byName = Object.fromEntries(report.namespaces.map((ns) => [ns.name, ns]))
    expect(byName['cache:products']).toMatchObject({ kind: 'cache', keys: 30, sampled: 20, exact: false })
    expect(byName['cache:users']).toMatchObject({ kind: 'cache', keys: 5, sampled: 5, exact: true })
    expect(byName['ratelimit:api']).toMatchObject({ kind: 'limiter', keys: 3 })
    // 30 entries of 200+ bytes each cannot take less than 6 KB.
    expect(byName['cache:products']!.memoryBytes).toBeGreaterThan(30 * 200)
    expect(byName['cache:users']!.memoryBytes).toBeGreaterThan(0)
    expect(report.tags).toMatchObject({ versionKeys: 1, indexSets: 1, indexedEntries: 30, pendingSweeps: 0 })
    expect(report.tags.largest).toEqual([{ tag: 'vendor:42', entries: 30 }])
    expect(report.limiters).toEqual([{ name: 'api', keys: 3 }])
    expect(report.totals.keys).toBe(30 + 5 + 3 + 2)
  })

  it('says the memory is an estimate and shows a progress bar on request', async () => {
    const run = await runCli(['stats', '--progress', '--url', url, ...APP])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/cache:products\s+cache\s+30\s+~/)
    expect(run.stdout).toContain('memory is an estimate')
    expect(run.stderr).toMatch(/scanning \[.*\] \d+%/)
    const quiet = await runCli(['stats', '--url', url, ...APP])
    expect(quiet.stderr).not.toContain('scanning')
  })
})

describe('redkit keys', () => {
  it('lists keys under the prefix, bounded by --limit', async () => {
    const all = (await runCli(['keys', 'cache:users:*', '--json', '--url', url, ...APP])).json<KeysResult>()
    expect(all.truncated).toBe(false)
    expect(all.keys).toEqual([0, 1, 2, 3, 4].map((i) => `shop:test:cache:users:user:${i}`))

    const run = await runCli(['keys', '--limit', '3', '--url', url, ...APP])
    expect(run.code).toBe(0)
    const lines = run.stdout.trim().split('\n')
    expect(lines).toHaveLength(3)
    for (const line of lines) expect(line.startsWith('shop:test:')).toBe(true)
    expect(run.stderr).toContain('raise --limit')
  })
})

describe('redkit invalidate', () => {
  it('counts in a dry run and refuses without a terminal or --yes, changing nothing', async () => {
    const dry = await runCli([
      'invalidate',
      '--tag',
      'vendor:42',
      '--dry-run',
      '--json',
      '--url',
      url,
      ...APP,
    ])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.json<InvalidateResult>()).toMatchObject({
      dryRun: true,
      matches: 30,
      tags: [{ tag: 'vendor:42', entries: 30, indexed: true }],
    })
    const refused = await runCli(['invalidate', '--tag', 'vendor:42', '--url', url, ...APP])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('Pass --yes')
    const fresh = createRedkit({ url, app: 'shop', env: 'test' })
    try {
      expect(await fresh.cache('products').get(['product', 7])).toMatchObject({ id: 7 })
    } finally {
      await fresh.close()
    }
  })

  it('invalidates a tag with --yes: the entries are misses and their memory is swept', async () => {
    const run = await runCli(['invalidate', '--tag', 'vendor:42', '--yes', '--json', '--url', url, ...APP])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json<InvalidateResult>()).toMatchObject({ dryRun: false, matches: 30, deleted: 30 })
    const fresh = createRedkit({ url, app: 'shop', env: 'test' })
    try {
      expect(await fresh.cache('products').get(['product', 7])).toBeUndefined()
    } finally {
      await fresh.close()
    }
    expect(await server.cli('--scan', '--pattern', 'shop:test:cache:products:*')).toBe('')
  })

  it('deletes the entries of one cache matching a pattern, after a dry-run count', async () => {
    const writer = createRedkit({ url, app: 'shop', env: 'test' })
    await writer.cache('users').set(['admin', 1], { id: 'a1' })
    await writer.close()
    const args = ['invalidate', '--namespace', 'users', '--pattern', 'user:*', '--json', '--url', url, ...APP]
    const dry = await runCli([...args, '--dry-run'])
    expect(dry.json<InvalidateResult>()).toMatchObject({ dryRun: true, matches: 5, namespace: 'users' })
    const run = await runCli([...args, '--yes', '--progress'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json<InvalidateResult>()).toMatchObject({ matches: 5, deleted: 5 })
    expect(run.stderr).toMatch(/deleting \[.*\] 100% \| 5\/5/)
    const fresh = createRedkit({ url, app: 'shop', env: 'test' })
    try {
      expect(await fresh.cache('users').get(['user', 2])).toBeUndefined()
      expect(await fresh.cache('users').get(['admin', 1])).toEqual({ id: 'a1' })
    } finally {
      await fresh.close()
    }
  })

  it('rejects a request that is neither a tag nor a namespace and pattern, with exit code 2', async () => {
    const run = await runCli(['invalidate', '--pattern', 'x*', '--url', url])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--namespace')
  })
})

describe('the command line', () => {
  it('exits 2 with what to do when no Redis is configured, and on unknown commands', async () => {
    const none = await runCli(['keys'])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('REDIS_URL')
    const unknown = await runCli(['bogus'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("unknown command 'bogus'")
  })

  it('explains itself in --help', async () => {
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    for (const command of ['doctor', 'stats', 'invalidate', 'keys']) expect(help.stdout).toContain(command)
    expect(help.stdout).toContain('REDIS_URL')
    const invalidate = await runCli(['invalidate', '--help'])
    expect(invalidate.stdout).toContain('--dry-run')
  })

  it('never printed a password, in any run of this file', () => {
    expect(printed.length).toBeGreaterThan(20)
    expect(printed.filter((text) => text.includes(SECRET))).toEqual([])
    expect(printed.filter((text) => text.includes(LIMITED_SECRET))).toEqual([])
  })
})
