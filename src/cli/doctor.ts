// `redkit doctor`: the checks a Redis troubleshooting guide does by hand (version, memory and eviction,
// connections per app, persistence, ACL permissions, TLS, latency), per master, as a report.

import { parseInfo } from '../connection/health.js'
import { errorMessage } from '../errors.js'
import { KeyBuilder } from '../keys/key-builder.js'
import type { Redkit } from '../redkit.js'
import { type AdminNode, type AdminNodes, isNotPermitted } from './admin-nodes.js'
import { CLI_APP } from './connect.js'
import type { Output } from './output.js'

/** How a check came out. `not-permitted`: the ACL user may not run what the check needs. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'not-permitted'

/** One check, on one node (or on the deployment as a whole when `node` is absent). */
export interface DoctorCheck {
  /** `version`, `memory`, `eviction`, `clients`, `persistence`, `acl`, `tls`, `latency`, `connect`. */
  check: string
  node?: string
  status: CheckStatus
  message: string
  details?: Record<string, unknown>
}

/** The whole report; `ok` is false when any check failed. */
export interface DoctorReport {
  target: string
  mode: string
  prefix: string
  ok: boolean
  summary: Record<CheckStatus, number>
  checks: DoctorCheck[]
}

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** PING round trips per node for the latency check. @default 50 */
  pings?: number
  /** The deployment runs BullMQ queues (its keys are looked for too). @default false */
  bullmq?: boolean
  /** Key prefix BullMQ uses. @default 'bull' */
  bullmqPrefix?: string
  /** App processes expected per client address: each may hold one command and one subscriber connection. @default 1 */
  processesPerHost?: number
}

/** What the doctor runs against. */
export interface DoctorTarget {
  kit: Redkit
  admin: AdminNodes
  describe: string
}

/** Redis versions below this cannot run redkit (ACL users, UNLINK, script effects). */
export const MINIMUM_VERSION = '5.0.0'
/** Redis versions below this get a warning. */
export const RECOMMENDED_VERSION = '6.2.0'
const SLOW_PING_MS = 20
const BULLMQ_SCAN_STEPS = 100
const REDKIT_ROLES = new Set(['command', 'subscriber', 'queue', 'producer'])

/** Runs every check. Never throws: a node that cannot be reached is a failed `connect` check. */
export async function runDoctor(target: DoctorTarget, options: DoctorOptions = {}): Promise<DoctorReport> {
  const { kit, admin } = target
  const checks: DoctorCheck[] = []
  let nodes: AdminNode[] = []
  try {
    nodes = await admin.masters()
  } catch (error) {
    checks.push({ check: 'connect', status: 'fail', message: `cannot reach Redis: ${errorMessage(error)}` })
  }
  if (nodes.length > 0) {
    checks.push(tlsCheck(admin.tls, nodes))
    const bullmqKeys = await findBullmqKeys(nodes, kit, options.bullmqPrefix ?? 'bull')
    const bullmq = options.bullmq === true || bullmqKeys !== undefined
    for (const node of nodes) {
      const info = await readInfo(node)
      checks.push(versionCheck(node, info))
      checks.push(...memoryChecks(node, info, bullmq, bullmqKeys))
      checks.push(await clientsCheck(node, options.processesPerHost ?? 1))
      checks.push(await persistenceCheck(node, info, bullmq))
      checks.push(await aclCheck(node, kit))
      checks.push(await latencyCheck(node, options.pings ?? 50))
    }
  }
  const summary: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, 'not-permitted': 0 }
  for (const check of checks) summary[check.status]++
  return {
    target: target.describe,
    mode: admin.mode,
    prefix: kit.prefix,
    ok: summary.fail === 0,
    summary,
    checks,
  }
}

/** Writes the report as a table or as JSON. */
export function printDoctor(report: DoctorReport, output: Output, json: boolean): void {
  if (json) {
    output.json(report)
    return
  }
  output.line(`redkit doctor: ${report.target} (${report.mode}), prefix '${report.prefix}'`)
  const width = Math.max(...report.checks.map((check) => check.check.length), 6)
  for (const check of report.checks) {
    const where = check.node === undefined ? '' : `${check.node}  `
    output.line(`${MARKS[check.status]} ${check.check.padEnd(width)}  ${where}${check.message}`)
  }
  const { ok, warn, fail } = report.summary
  const denied = report.summary['not-permitted']
  output.line(`${ok} ok, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failed, ${denied} not permitted`)
}

const MARKS: Record<CheckStatus, string> = {
  ok: '[ok]  ',
  warn: '[warn]',
  fail: '[FAIL]',
  'not-permitted': '[n/p] ',
}

type Info = { fields: Record<string, string> } | { error: unknown }

async function readInfo(node: AdminNode): Promise<Info> {
  try {
    return { fields: parseInfo(String(await node.send(['INFO']))) }
  } catch (error) {
    return { error }
  }
}

function unavailable(check: string, node: AdminNode, error: unknown): DoctorCheck {
  if (isNotPermitted(error)) {
    return {
      check,
      node: node.address,
      status: 'not-permitted',
      message: `not permitted for this ACL user (${/NOPERM[^)]*/.exec(errorMessage(error))?.[0] ?? errorMessage(error)})`,
    }
  }
  return { check, node: node.address, status: 'fail', message: errorMessage(error) }
}

function versionCheck(node: AdminNode, info: Info): DoctorCheck {
  if ('error' in info) return unavailable('version', node, info.error)
  const version = info.fields.redis_version
  if (version === undefined) {
    return { check: 'version', node: node.address, status: 'warn', message: 'INFO gave no redis_version' }
  }
  const details = { version }
  if (compareVersions(version, MINIMUM_VERSION) < 0) {
    return {
      check: 'version',
      node: node.address,
      status: 'fail',
      message: `Redis ${version} is older than ${MINIMUM_VERSION}, the oldest redkit runs on; upgrade the server`,
      details,
    }
  }
  if (compareVersions(version, RECOMMENDED_VERSION) < 0) {
    return {
      check: 'version',
      node: node.address,
      status: 'warn',
      message: `Redis ${version} works, but ${RECOMMENDED_VERSION} or newer is recommended`,
      details,
    }
  }
  return { check: 'version', node: node.address, status: 'ok', message: `Redis ${version}`, details }
}

function memoryChecks(
  node: AdminNode,
  info: Info,
  bullmq: boolean,
  bullmqKeys: string | undefined,
): DoctorCheck[] {
  if ('error' in info) return [unavailable('memory', node, info.error)]
  const maxmemory = Number(info.fields.maxmemory ?? '0')
  const policy = info.fields.maxmemory_policy ?? 'unknown'
  const used = Number(info.fields.used_memory ?? '0')
  const details = { maxmemoryBytes: maxmemory, maxmemoryPolicy: policy, usedMemoryBytes: used }
  const checks: DoctorCheck[] = []
  if (maxmemory === 0) {
    checks.push({
      check: 'memory',
      node: node.address,
      status: 'warn',
      message: `maxmemory is 0 (no limit; ${formatBytes(used)} used): a cache server should set maxmemory so Redis evicts instead of growing until the host runs out`,
      details,
    })
  } else {
    checks.push({
      check: 'memory',
      node: node.address,
      status: used >= maxmemory * 0.9 ? 'warn' : 'ok',
      message: `${formatBytes(used)} of ${formatBytes(maxmemory)} used`,
      details,
    })
  }
  if (bullmq && policy !== 'noeviction') {
    const why = bullmqKeys === undefined ? '--bullmq was given' : `BullMQ keys exist (${bullmqKeys})`
    checks.push({
      check: 'eviction',
      node: node.address,
      status: 'fail',
      message: `maxmemory-policy is '${policy}' and ${why}: BullMQ needs 'noeviction', or queue keys are evicted and jobs lost. Give queues their own Redis with noeviction`,
      details,
    })
  } else {
    checks.push({
      check: 'eviction',
      node: node.address,
      status: 'ok',
      message: `maxmemory-policy is '${policy}'${bullmq ? ' (what BullMQ needs)' : ''}`,
      details,
    })
  }
  return checks
}

/** A BullMQ meta key under the app prefix or BullMQ's own, or undefined; bounded, never a full KEYS. */
async function findBullmqKeys(
  nodes: readonly AdminNode[],
  kit: Redkit,
  bullmqPrefix: string,
): Promise<string | undefined> {
  const builders = [kit.keys, new KeyBuilder('').scope(bullmqPrefix)]
  for (const keys of builders) {
    const match = keys.pattern([], '*:meta')
    for (const node of nodes) {
      let cursor = '0'
      let steps = 0
      try {
        do {
          const [next, keys] = (await node.send(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'])) as [
            string,
            string[],
          ]
          if (keys.length > 0) return keys[0]
          cursor = next
        } while (cursor !== '0' && ++steps < BULLMQ_SCAN_STEPS)
      } catch {
        // A user that may not SCAN: the ACL check reports it; BullMQ can still be declared with --bullmq.
      }
    }
  }
  return undefined
}

interface ClientEntry {
  id: string
  name: string
  ip: string
}

/** Parses `CLIENT LIST`: one `field=value ...` line per connection. */
export function parseClientList(text: string): ClientEntry[] {
  const entries: ClientEntry[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const fields = new Map<string, string>()
    for (const pair of line.trim().split(' ')) {
      const at = pair.indexOf('=')
      if (at > 0) fields.set(pair.slice(0, at), pair.slice(at + 1))
    }
    const addr = fields.get('addr') ?? ''
    entries.push({
      id: fields.get('id') ?? '',
      name: fields.get('name') ?? '',
      ip: addr.slice(0, Math.max(addr.lastIndexOf(':'), 0)) || addr,
    })
  }
  return entries
}

async function clientsCheck(node: AdminNode, processesPerHost: number): Promise<DoctorCheck> {
  let list: ClientEntry[]
  let ownId = ''
  try {
    list = parseClientList(String(await node.send(['CLIENT', 'LIST'])))
    ownId = String(await node.send(['CLIENT', 'ID']))
  } catch (error) {
    return unavailable('clients', node, error)
  }
  const others = list.filter((entry) => entry.id !== ownId && !entry.name.startsWith(`${CLI_APP}:`))
  const byName: Record<string, number> = {}
  // Per app and client address: command + subscriber connections (BullMQ's own are counted apart).
  const perHost = new Map<string, { app: string; ip: string; connections: number }>()
  for (const entry of others) {
    const name = entry.name === '' ? '(no name)' : entry.name
    byName[name] = (byName[name] ?? 0) + 1
    const at = entry.name.lastIndexOf(':')
    const role = entry.name.slice(at + 1)
    if (at <= 0 || !REDKIT_ROLES.has(role) || (role !== 'command' && role !== 'subscriber')) continue
    const app = entry.name.slice(0, at)
    const id = `${app}\u0000${entry.ip}`
    const host = perHost.get(id) ?? { app, ip: entry.ip, connections: 0 }
    host.connections++
    perHost.set(id, host)
  }
  const limit = 2 * processesPerHost
  const crowded = [...perHost.values()].filter((host) => host.connections > limit)
  const details = { byName, total: others.length }
  if (crowded.length > 0) {
    const worst = crowded
      .map((host) => `${host.connections} '${host.app}' connections from ${host.ip}`)
      .join(', ')
    return {
      check: 'clients',
      node: node.address,
      status: 'warn',
      message: `${worst}: expected at most ${limit} (one command and one subscriber per process, ${processesPerHost} process${processesPerHost === 1 ? '' : 'es'} per host; --processes-per-host to change). Is a kit created per request or per module?`,
      details: { ...details, crowded },
    }
  }
  const names = Object.entries(byName)
    .map(([name, count]) => `${name}=${count}`)
    .join(' ')
  return {
    check: 'clients',
    node: node.address,
    status: 'ok',
    message: `${others.length} other connection${others.length === 1 ? '' : 's'}${names ? ` (${names})` : ''}`,
    details,
  }
}

async function persistenceCheck(node: AdminNode, info: Info, bullmq: boolean): Promise<DoctorCheck> {
  if ('error' in info) return unavailable('persistence', node, info.error)
  const aof = info.fields.aof_enabled === '1'
  let rdb: boolean | undefined
  try {
    const reply = (await node.send(['CONFIG', 'GET', 'save'])) as string[]
    rdb = (reply[1] ?? '').trim() !== ''
  } catch {
    // CONFIG is often denied: RDB is then judged by INFO only (a save has happened at least once).
    rdb = undefined
  }
  const failures: string[] = []
  if (info.fields.rdb_last_bgsave_status === 'err') failures.push('the last RDB save failed')
  if (info.fields.aof_last_write_status === 'err') failures.push('the last AOF write failed')
  const modes = [aof ? 'AOF' : undefined, rdb ? 'RDB' : undefined].filter((mode) => mode !== undefined)
  const details = { aof, rdb: rdb ?? 'unknown' }
  if (failures.length > 0) {
    return {
      check: 'persistence',
      node: node.address,
      status: 'warn',
      message: `${failures.join(' and ')}: check disk space and the server log`,
      details,
    }
  }
  if (modes.length === 0) {
    const what =
      rdb === undefined ? 'AOF is off and RDB could not be read (CONFIG not permitted)' : 'no RDB, no AOF'
    return {
      check: 'persistence',
      node: node.address,
      status: bullmq ? 'warn' : 'ok',
      message: bullmq
        ? `${what}: queued jobs are lost when Redis restarts; turn on appendonly for queues`
        : `${what} (fine for a cache; queues and sessions would be lost on restart)`,
      details,
    }
  }
  return { check: 'persistence', node: node.address, status: 'ok', message: modes.join(' + '), details }
}

/** What redkit sends, with an argument shape that lets ACL DRYRUN check key and channel rules too. */
function neededCommands(kit: Redkit): string[][] {
  const key = kit.keys.build('doctor', 'probe')
  const channel = kit.bus.channelName('doctor')
  const sha = '0'.repeat(40)
  return [
    ['GET', key],
    ['SET', key, '1', 'PX', '1000'],
    ['MGET', key],
    ['UNLINK', key],
    ['EXISTS', key],
    ['PTTL', key],
    ['PEXPIRE', key, '1000'],
    ['INCRBY', key, '1'],
    ['SADD', key, 'm'],
    ['SREM', key, 'm'],
    ['SISMEMBER', key, 'm'],
    ['SCARD', key],
    ['SSCAN', key, '0'],
    ['HSET', key, 'f', 'v'],
    ['HGETALL', key],
    ['HDEL', key, 'f'],
    ['SCAN', '0'],
    ['EVALSHA', sha, '1', key],
    ['EVAL', 'return 1', '1', key],
    ['PUBLISH', channel, 'm'],
    ['SUBSCRIBE', channel],
    ['PING'],
    ['CLIENT', 'SETNAME', 'x'],
  ]
}

/** Commands probed for real when ACL DRYRUN is denied: harmless, on a probe key that expires. */
function probeCommands(kit: Redkit): string[][] {
  const key = kit.keys.build('doctor', 'probe')
  return [
    ['GET', key],
    ['SET', key, '1', 'PX', '1000'],
    ['UNLINK', key],
    ['SCAN', '0', 'MATCH', kit.keys.pattern(['doctor']), 'COUNT', '1'],
    ['EVALSHA', '0'.repeat(40), '1', key],
    ['PUBLISH', kit.bus.channelName('doctor'), ''],
  ]
}

async function aclCheck(node: AdminNode, kit: Redkit): Promise<DoctorCheck> {
  let user: string | undefined
  try {
    user = String(await node.send(['ACL', 'WHOAMI']))
  } catch (error) {
    if (!isNotPermitted(error)) return unavailable('acl', node, error)
  }
  const missing: string[] = []
  let how = 'ACL DRYRUN'
  let dryRun = user !== undefined
  if (dryRun) {
    for (const command of neededCommands(kit)) {
      try {
        const reply = String(await node.send(['ACL', 'DRYRUN', user!, ...command]))
        if (reply !== 'OK') missing.push(commandLabel(command))
      } catch (error) {
        // DRYRUN is itself an admin command (and new in 7.0): fall back to probing.
        dryRun = false
        missing.length = 0
        if (!isNotPermitted(error) && !/unknown (sub)?command|syntax/i.test(errorMessage(error))) {
          return unavailable('acl', node, error)
        }
        break
      }
    }
  }
  if (!dryRun) {
    how = 'probe (ACL DRYRUN not available to this user)'
    for (const command of probeCommands(kit)) {
      try {
        await node.send(command)
      } catch (error) {
        // NOSCRIPT, MOVED and the like mean the command was allowed to run.
        if (isNotPermitted(error)) missing.push(commandLabel(command))
      }
    }
  }
  const who = user === undefined ? 'this ACL user (ACL WHOAMI not permitted)' : `ACL user '${user}'`
  const details = { user: user ?? null, method: dryRun ? 'dryrun' : 'probe', missing }
  if (missing.length > 0) {
    return {
      check: 'acl',
      node: node.address,
      status: 'fail',
      message: `${who} may not run ${missing.join(', ')} on the app's keys (${how}); grant them (ACL SETUSER ... +<command> ~${kit.prefix}* &${kit.prefix}*)`,
      details,
    }
  }
  return {
    check: 'acl',
    node: node.address,
    status: 'ok',
    message: `${who} may run what redkit sends (${how})`,
    details,
  }
}

function commandLabel(command: readonly string[]): string {
  return command[0] === 'CLIENT' ? 'CLIENT SETNAME' : command[0]!
}

function tlsCheck(tls: boolean, nodes: readonly AdminNode[]): DoctorCheck {
  if (tls) return { check: 'tls', status: 'ok', message: 'TLS in use', details: { tls } }
  const remote = nodes.some((node) => !/^(127\.|localhost:|\[?::1\]?:)/.test(node.address))
  return {
    check: 'tls',
    status: remote ? 'warn' : 'ok',
    message: remote
      ? 'plaintext connection to a remote host: passwords and data cross the network unencrypted (use rediss://)'
      : 'plaintext on loopback',
    details: { tls },
  }
}

async function latencyCheck(node: AdminNode, pings: number): Promise<DoctorCheck> {
  const times: number[] = []
  try {
    for (let i = 0; i < Math.max(pings, 1); i++) {
      const started = performance.now()
      await node.send(['PING'])
      times.push(performance.now() - started)
    }
  } catch (error) {
    return unavailable('latency', node, error)
  }
  times.sort((a, b) => a - b)
  const p50 = round(percentile(times, 0.5))
  const p99 = round(percentile(times, 0.99))
  const details = { pings: times.length, p50Ms: p50, p99Ms: p99, maxMs: round(times.at(-1) ?? 0) }
  return {
    check: 'latency',
    node: node.address,
    status: p99 > SLOW_PING_MS ? 'warn' : 'ok',
    message: `PING p50 ${p50} ms, p99 ${p99} ms over ${times.length}${p99 > SLOW_PING_MS ? `: slower than ${SLOW_PING_MS} ms, check network and server load` : ''}`,
    details,
  }
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}

/** Negative when `a` is older than `b`. */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number)
  const right = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    const diff = (left[i] || 0) - (right[i] || 0)
    if (diff !== 0) return diff
  }
  return 0
}

/** `1.5 MB`-style sizes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}
