// Starts a master, a replica and one sentinel watching them, for sentinel-mode and failover tests.
// Resolves only when the sentinel knows the master and its replica, so a client can connect at once.

import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { launchServer, type RedisServer, startRedis } from './start-redis.js'
import { waitFor } from './wait-for.js'

/** A running sentinel setup started by {@link startSentinel}. */
export interface SentinelSetup {
  /** The monitored master's name, for `SENTINEL get-master-addr-by-name` and clients. */
  name: string
  /** Sentinel addresses for a client. */
  sentinels: { host: string; port: number }[]
  /** The server that is master at start (a failover does not update this field). */
  master: RedisServer
  /** The server that replicates `master` at start. */
  replica: RedisServer
  /** The sentinel processes (no password of their own). */
  sentinelServers: RedisServer[]
  /** Stops the sentinel first (no failover while shutting down), then the replica, then the master. */
  stop(): Promise<void>
}

/** Options of {@link startSentinel}. */
export interface SentinelOptions {
  /** `requirepass` and `masterauth` of master and replica; the sentinel gets `auth-pass`. */
  password?: string
}

const MASTER_NAME = 'redkit'
const DOWN_AFTER_MS = 1000
const FAILOVER_TIMEOUT_MS = 5000

/**
 * Starts 1 master, 1 replica and 1 sentinel (quorum 1, master down after 1 s).
 *
 * @example
 * const setup = await startSentinel({ password: 's3cret' })
 * const client = new Redis({ sentinels: setup.sentinels, name: setup.name, password: 's3cret' })
 */
export async function startSentinel(options: SentinelOptions = {}): Promise<SentinelSetup> {
  const { password } = options
  // masterauth on both: after a failover the old master replicates from the new one.
  const authArgs = password === undefined ? [] : ['--masterauth', password]
  const started: RedisServer[] = []
  const stopStarted = async (): Promise<void> => {
    for (const server of [...started].reverse()) await server.stop()
  }
  try {
    const master = await startRedis({ password, args: authArgs })
    started.push(master)
    const replica = await startRedis({
      password,
      args: [...authArgs, '--replicaof', '127.0.0.1', String(master.port)],
    })
    started.push(replica)
    await waitFor(async () => /master_link_status:up/.test(await replica.cli('INFO', 'replication')), {
      timeoutMs: 10_000,
      message: 'replica did not finish its first sync',
    })

    const sentinel = await launchServer({
      kind: 'sentinel',
      // Sentinel rewrites its config file at runtime, so it must be a file of its own.
      prepare: async (dir) => {
        const configFile = join(dir, 'sentinel.conf')
        const lines = [
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 1`,
          `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
          'sentinel resolve-hostnames no',
        ]
        if (password !== undefined) lines.push(`sentinel auth-pass ${MASTER_NAME} ${quoteConfig(password)}`)
        await writeFile(configFile, `${lines.join('\n')}\n`)
        return [configFile, '--sentinel']
      },
    })
    started.push(sentinel)
    await waitFor(
      async () => {
        const address = await sentinel.cli('SENTINEL', 'get-master-addr-by-name', MASTER_NAME)
        const replicas = await sentinel.cli('SENTINEL', 'replicas', MASTER_NAME)
        return address.split('\n')[1] === String(master.port) && replicas.includes(String(replica.port))
      },
      { timeoutMs: 15_000, intervalMs: 50, message: 'sentinel did not discover the master and its replica' },
    )
    return {
      name: MASTER_NAME,
      sentinels: [{ host: sentinel.host, port: sentinel.port }],
      master,
      replica,
      sentinelServers: [sentinel],
      stop: async () => {
        await sentinel.stop()
        await replica.stop()
        await master.stop()
      },
    }
  } catch (error) {
    await stopStarted()
    throw error
  }
}

// Redis config values are split on spaces unless quoted.
function quoteConfig(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}
