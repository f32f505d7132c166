// The CLI's view of a Redis deployment: one handle per master (every master of a Cluster) for the
// diagnostic commands the store interface does not carry (INFO, CONFIG, CLIENT LIST, ACL, MEMORY USAGE).

import type { RedisArgument } from '@redis/client'
import type { ResolvedOptions } from '../config/options.js'
import { ConnectionManager } from '../connection/connection-manager.js'
import type { CommandClient } from '../connection/redis-clients.js'
import { withTimeout } from '../connection/with-timeout.js'
import { CommandTimeoutError, errorMessage, RedkitError } from '../errors.js'
import type { StoreMode } from '../store/store.js'

/** One master node: where it is, and a way to send it a command. */
export interface AdminNode {
  /** `host:port` of the node (never with credentials). */
  readonly address: string
  /**
   * Sends a command to this node, outside the circuit breaker's count, bounded by the command timeout.
   * Rejects with a typed redkit error (a `NOPERM` reply becomes `RedisAuthError`).
   */
  send(args: readonly string[]): Promise<unknown>
}

/** Every master of a deployment, and a way to let go of the connection. */
export interface AdminNodes {
  readonly mode: Exclude<StoreMode, 'memory'>
  /** The masters, found once per call (a Cluster may have failed over since). */
  masters(): Promise<AdminNode[]>
  /** Whether the connection uses TLS. */
  readonly tls: boolean
  close(): Promise<void>
}

/** Opens (lazily) a connection for diagnostics with the same target, credentials and TLS as the kit. */
export function adminNodes(options: ResolvedOptions): AdminNodes {
  const target = options.target
  if (target.mode === 'memory') throw new Error('adminNodes needs a Redis target')
  const manager = new ConnectionManager(options)
  const timeoutMs = options.commandTimeoutMs
  const wrap = (client: CommandClient, address: string): AdminNode => ({
    address,
    send: (args) => {
      const command = commandName(args)
      const call = manager.runUncounted(command, () => client.send(args as RedisArgument[]))
      return withTimeout(call, timeoutMs, () => new CommandTimeoutError(command, timeoutMs))
    },
  })
  return {
    mode: target.mode,
    tls: target.tls !== undefined,
    async masters() {
      const clients = await manager.runUncounted('PING', (client) => client.masters())
      const fallback = options.describe
      return clients.map((client) => wrap(client, addressOf(client) ?? fallback))
    },
    close: () => manager.close(),
  }
}

/** Whether a failure is the server's "this ACL user may not run that" (`NOPERM`). */
export function isNotPermitted(error: unknown): boolean {
  return error instanceof RedkitError && /\bNOPERM\b/.test(errorMessage(error))
}

/** `CONFIG GET`, `CLIENT LIST`...: the command and, for container commands, its subcommand. */
function commandName(args: readonly string[]): string {
  const [first = '', second] = args
  const upper = first.toUpperCase()
  return CONTAINERS.has(upper) && second !== undefined ? `${upper} ${second.toUpperCase()}` : upper
}

const CONTAINERS = new Set(['CONFIG', 'CLIENT', 'ACL', 'MEMORY', 'CLUSTER', 'COMMAND'])

function addressOf(client: CommandClient): string | undefined {
  const socket = (client as { raw?: { options?: { socket?: { host?: unknown; port?: unknown } } } }).raw
    ?.options?.socket
  if (typeof socket?.host !== 'string' || typeof socket.port !== 'number') return undefined
  return `${socket.host}:${socket.port}`
}
