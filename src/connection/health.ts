// Builds the health report: per-connection status and PING latency, breaker state, and what the
// server says of itself (version, memory, eviction policy). Missing permissions degrade the detail, not the status.

import { errorMessage } from '../errors.js'
import type { StoreMode } from '../store/store.js'
import type { BreakerState } from './circuit-breaker.js'
import type { ConnectionManager, ConnectionRole, ConnectionState } from './connection-manager.js'

/** Status of one connection role. */
export interface RoleHealth {
  /** `ready`, `connecting`, `reconnecting`, `down`, or `idle` when the connection was never needed. */
  status: 'ready' | 'connecting' | 'reconnecting' | 'down' | 'idle'
  /** PING round trip in milliseconds (command connection only). */
  latencyMs?: number
  /** Why the role is down. */
  error?: string
}

/** What the server reports about itself; fields are absent when the ACL forbids INFO. */
export interface ServerHealth {
  version?: string
  usedMemoryBytes?: number
  maxmemoryBytes?: number
  maxmemoryPolicy?: string
  /** Why the detail is missing (e.g. `NOPERM` under a restricted ACL user). */
  error?: string
}

/** How long after a refused write (OOM) health still reports `degraded`. */
const OOM_MEMORY_MS = 30_000

/** The result of `kit.health()`. */
export interface HealthReport {
  /** `healthy`: all good. `degraded`: commands work but something is off. `down`: commands fail. */
  status: 'healthy' | 'degraded' | 'down'
  /** Why the status is not `healthy` (credentials removed). */
  reason?: string
  mode: StoreMode
  breaker: BreakerState
  roles: Partial<Record<ConnectionRole, RoleHealth>>
  server?: ServerHealth
  /** ISO time of the check. */
  checkedAt: string
}

/** The report of the embedded store: always healthy. */
export function memoryHealth(): HealthReport {
  return {
    status: 'healthy',
    mode: 'memory',
    breaker: 'closed',
    roles: {},
    checkedAt: new Date().toISOString(),
  }
}

/** Checks the Redis connections of a manager. Never throws. */
export async function redisHealth(manager: ConnectionManager, mode: StoreMode): Promise<HealthReport> {
  const roles: HealthReport['roles'] = {}
  let server: ServerHealth | undefined
  let reason: string | undefined
  const started = performance.now()
  try {
    await manager.run('PING', (c) => c.send(['PING']))
    roles.command = { status: 'ready', latencyMs: round(performance.now() - started) }
    server = await serverHealth(manager)
  } catch (error) {
    reason = errorMessage(error)
    roles.command = { status: 'down', error: reason }
  }
  for (const role of ['subscriber', 'queue', 'producer'] as const) {
    // The producer connection is listed only when it was asked for.
    if (role === 'producer' && !manager.has(role)) continue
    const { state, error } = manager.state(role)
    roles[role] = error === undefined ? { status: roleStatus(state) } : { status: roleStatus(state), error }
  }
  const breaker = manager.breaker.state
  let status: HealthReport['status'] = 'healthy'
  if (roles.command.status !== 'ready') status = 'down'
  else if (breaker !== 'closed') {
    status = 'degraded'
    reason = `circuit breaker ${breaker}`
  } else if (roles.subscriber?.status === 'down' || roles.subscriber?.status === 'reconnecting') {
    status = 'degraded'
    reason = `subscriber connection ${roles.subscriber.status}`
  } else if (Date.now() - manager.lastOutOfMemoryAt < OOM_MEMORY_MS || isFull(server)) {
    status = 'degraded'
    reason = 'Redis is out of memory (maxmemory reached with noeviction): writes are refused'
  }
  return {
    status,
    ...(reason === undefined || status === 'healthy' ? {} : { reason }),
    mode,
    breaker,
    roles,
    ...(server ? { server } : {}),
    checkedAt: new Date().toISOString(),
  }
}

/** Used memory at the limit under a policy that refuses writes rather than evict. */
function isFull(server: ServerHealth | undefined): boolean {
  if (!server?.maxmemoryBytes || server.usedMemoryBytes === undefined) return false
  return server.maxmemoryPolicy === 'noeviction' && server.usedMemoryBytes >= server.maxmemoryBytes
}

async function serverHealth(manager: ConnectionManager): Promise<ServerHealth> {
  try {
    const info = await manager.runUncounted('INFO', (c) => c.send(['INFO']) as Promise<string>)
    const fields = parseInfo(info)
    const health: ServerHealth = {}
    if (fields.redis_version) health.version = fields.redis_version
    if (fields.used_memory) health.usedMemoryBytes = Number(fields.used_memory)
    if (fields.maxmemory) health.maxmemoryBytes = Number(fields.maxmemory)
    if (fields.maxmemory_policy) health.maxmemoryPolicy = fields.maxmemory_policy
    return health
  } catch (error) {
    return { error: errorMessage(error) }
  }
}

/** Parses the `field:value` lines of an INFO reply. */
export function parseInfo(info: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const line of info.split('\n')) {
    const at = line.indexOf(':')
    if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1).trim()
  }
  return fields
}

function roleStatus(state: ConnectionState): RoleHealth['status'] {
  switch (state) {
    case 'idle':
      return 'idle'
    case 'ready':
      return 'ready'
    case 'connecting':
      return 'connecting'
    case 'down':
      return 'reconnecting'
    case 'closed':
      return 'down'
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
