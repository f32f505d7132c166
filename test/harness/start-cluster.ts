// Starts a 6-node Redis Cluster (3 masters, 3 replicas) on loopback for cluster-mode tests.
// Resolves only when every node sees a healthy cluster, so the first command never hits CLUSTERDOWN.

import { execFile } from 'node:child_process'
import type { TlsFiles } from './make-tls-files.js'
import { launchServer, type ManagedRedisServer, type RedisServer } from './start-redis.js'
import { waitFor } from './wait-for.js'

/** A running cluster started by {@link startCluster}. */
export interface RedisCluster {
  /** Seed nodes for a cluster client, all six. */
  nodes: { host: string; port: number }[]
  /** The six node servers, in `nodes` order. */
  servers: RedisServer[]
  /**
   * The servers that own slots right now and are not flagged failing, as one reachable node sees
   * it in CLUSTER NODES. Gossip lags a failover, so poll it with `waitFor` after killing a master.
   */
  masters(): Promise<RedisServer[]>
  /** Stops every node. */
  stop(): Promise<void>
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** `cluster-node-timeout`: how fast a dead master is failed over. @default 2000 */
  nodeTimeoutMs?: number
  /** Extra redis-server arguments for every node. */
  args?: string[]
  /** `requirepass` (and `masterauth`) on every node; `cli` of each server authenticates with it. */
  password?: string
  /** TLS only on every node, the cluster bus and replication included (`tls-cluster`, `tls-replication`). */
  tls?: TlsFiles
}

const NODE_COUNT = 6
const ALL_SLOTS = 16_384

/**
 * Starts six cluster-enabled nodes, joins them with `redis-cli --cluster create --cluster-replicas 1`
 * and waits until each reports `cluster_state:ok`, all 16384 slots served and all six nodes known.
 *
 * @example
 * const cluster = await startCluster()
 * const client = new Cluster(cluster.nodes)
 */
export async function startCluster(options: ClusterOptions = {}): Promise<RedisCluster> {
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000
  const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']
  clusterArgs.push('--cluster-node-timeout', String(nodeTimeoutMs))
  if (options.password !== undefined) clusterArgs.push('--masterauth', options.password)
  if (options.tls) clusterArgs.push('--tls-cluster', 'yes', '--tls-replication', 'yes')
  clusterArgs.push(...(options.args ?? []))
  const { password, tls } = options
  const started = await Promise.allSettled(
    Array.from({ length: NODE_COUNT }, () =>
      launchServer({ kind: 'cluster', clusterBus: true, args: clusterArgs, password, tls }),
    ),
  )
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()))
  }
  const failed = started.find((result) => result.status === 'rejected')
  if (failed) {
    await stop()
    throw failed.reason
  }

  try {
    await createCluster(
      servers.map((server) => `127.0.0.1:${server.port}`),
      options,
    )
    // cluster_state:ok alone is not enough: roles spread by gossip, and a replica that has not
    // synced yet cannot take over in a failover test.
    await waitFor(
      async () => {
        for (const server of servers) {
          if (!isHealthy(await server.cli('CLUSTER', 'INFO'))) return false
          const view = parseClusterNodes(await server.cli('CLUSTER', 'NODES'))
          if (view.filter((node) => node.role === 'master' && node.slots).length !== NODE_COUNT / 2)
            return false
          if (view.filter((node) => node.role === 'replica').length !== NODE_COUNT / 2) return false
        }
        const links = await Promise.all(servers.map((server) => server.cli('INFO', 'replication')))
        return links.filter((info) => info.includes('master_link_status:up')).length === NODE_COUNT / 2
      },
      { timeoutMs: 30_000, intervalMs: 50, message: 'cluster did not become healthy on every node' },
    )
  } catch (error) {
    await stop()
    throw error
  }

  const masters = async (): Promise<RedisServer[]> => {
    const masterPorts = await currentMasterPorts(servers)
    return servers.filter((server) => masterPorts.has(server.port))
  }
  return { nodes: servers.map(({ host, port }) => ({ host, port })), servers, masters, stop }
}

function createCluster(addresses: string[], options: ClusterOptions): Promise<void> {
  const args = ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']
  if (options.password !== undefined) args.push('-a', options.password, '--no-auth-warning')
  if (options.tls) args.push('--tls', '--cacert', options.tls.ca)
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (!error) return resolve()
      const output = `${stdout}\n${stderr}`.trim().split('\n').slice(-20).join('\n')
      reject(new Error(`redis-cli --cluster create failed:\n${output}`, { cause: error }))
    })
  })
}

function isHealthy(info: string): boolean {
  const fields = new Map(
    info.split(/\r?\n/).map((line) => line.split(':', 2).map((part) => part.trim()) as [string, string]),
  )
  return (
    fields.get('cluster_state') === 'ok' &&
    fields.get('cluster_slots_assigned') === String(ALL_SLOTS) &&
    fields.get('cluster_slots_ok') === String(ALL_SLOTS) &&
    fields.get('cluster_known_nodes') === String(NODE_COUNT)
  )
}

interface ClusterNodeView {
  port: number
  role: 'master' | 'replica'
  failing: boolean
  slots: boolean
}

// CLUSTER NODES lines: <id> <ip:port@bus> <flags> <master-id> <ping> <pong> <epoch> <link> <slot>...
function parseClusterNodes(text: string): ClusterNodeView[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((fields) => fields.length >= 8)
    .map((fields) => {
      const flags = (fields[2] ?? '').split(',')
      return {
        port: Number(fields[1]?.split('@')[0]?.split(':').pop()),
        role: flags.includes('master') ? 'master' : 'replica',
        failing: flags.some((flag) => flag.startsWith('fail')),
        slots: fields.length > 8,
      }
    })
}

// Asks the first node that answers: after a kill or a failover some nodes are down or paused.
async function currentMasterPorts(servers: ManagedRedisServer[]): Promise<Set<number>> {
  let lastError: unknown
  for (const server of servers) {
    // A paused node would hold the question until the cli timeout.
    if (!server.running || server.paused) continue
    try {
      const view = parseClusterNodes(await server.cli('CLUSTER', 'NODES'))
      // Only slot owners count; a master flagged failing is being (or has been) replaced.
      return new Set(
        view.filter((node) => node.role === 'master' && node.slots && !node.failing).map((n) => n.port),
      )
    } catch (error) {
      lastError = error
    }
  }
  throw new Error('no cluster node answered CLUSTER NODES', { cause: lastError })
}
