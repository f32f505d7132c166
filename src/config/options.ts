// The options createRedkit accepts, and their resolution (with REDIS_* environment variables)
// into one validated, typed object. Bad options fail here, at construction, with what to fix.

import type { ConnectionOptions as TlsOptions } from 'node:tls'
import { InvalidOptionsError } from '../errors.js'
import { type Logger, silentLogger } from '../logger.js'
import { type Duration, optionalDuration } from './duration.js'
import { redactUrl, Secret } from './secret.js'
import { checkName, checkOptionKeys } from './validate.js'

/** A Redis node address. */
export interface NodeAddress {
  host: string
  port: number
}

/** Options of {@link createRedkit}. Every option is optional: with none, redkit reads REDIS_* or runs in memory. */
export interface RedkitOptions {
  /**
   * Where Redis is: `redis://[user:pass@]host:port[/db]`, `rediss://...` for TLS, or `'memory'` /
   * `'disabled'` for the embedded in-memory store.
   * @default process.env.REDIS_URL, else REDIS_HOST/REDIS_PORT..., else 'memory'
   * @example createRedkit({ url: 'redis://localhost:6379/0' })
   */
  url?: string
  /** Host when no url is given. @default process.env.REDIS_HOST */
  host?: string
  /** Port when no url is given. @default process.env.REDIS_PORT ?? 6379 */
  port?: number
  /** ACL user name. @default process.env.REDIS_USERNAME */
  username?: string
  /** Password; never logged, printed or put in an error message. @default process.env.REDIS_PASSWORD */
  password?: string
  /** Database index (single node and sentinel only). @default process.env.REDIS_DB ?? 0 */
  db?: number
  /**
   * TLS: `true` or Node TLS options (e.g. `{ ca }`). A `rediss://` url turns it on too.
   * @default process.env.REDIS_TLS === 'true'
   */
  tls?: boolean | TlsOptions
  /**
   * Redis Cluster: the seed nodes (`'host:port'` strings or objects).
   * @default process.env.REDIS_CLUSTER_NODES (comma-separated host:port)
   * @example createRedkit({ cluster: { nodes: ['10.0.0.1:7000', '10.0.0.2:7000'] } })
   */
  cluster?: { nodes: readonly (string | NodeAddress)[] }
  /**
   * Redis Sentinel: the sentinels and the monitored master's name.
   * @default process.env.REDIS_SENTINELS (comma-separated host:port) with REDIS_SENTINEL_NAME
   */
  sentinel?: {
    sentinels: readonly (string | NodeAddress)[]
    /** The master group name sentinels monitor. @default 'mymaster' */
    name?: string
    /** Password of the sentinels themselves (not of the data nodes). */
    password?: string
  }
  /**
   * Application name: first part of every key prefix and of connection names (`<app>:<role>`).
   * @default 'app'
   */
  app?: string
  /** Environment name, second part of the key prefix (`shop:prod:`). @default none */
  env?: string
  /** Full key prefix; overrides `app`/`env`. @default `${app}:` or `${app}:${env}:` */
  prefix?: string
  /** A pino-like logger. @default silent */
  logger?: Logger
  /** A command that has not answered after this long fails with `CommandTimeoutError`. @default '2s' */
  commandTimeout?: Duration
  /** Time allowed to open a connection. @default '5s' */
  connectTimeout?: Duration
  /** How long `close()` waits for in-flight commands before disconnecting. @default '5s' */
  closeTimeout?: Duration
  /** Circuit breaker in front of every Redis command. */
  breaker?: {
    /** Consecutive failures that open the breaker. @default 5 */
    threshold?: number
    /** How long the breaker stays open before one probe is let through. @default '30s' */
    cooldown?: Duration
  }
  /** Tag invalidation (`kit.invalidateTags`, cache `tags` option). */
  tags?: {
    /**
     * How long a tag version read from Redis is trusted in process without bus traffic. Invalidations
     * from other instances reach this one through the bus at once, or at worst after this long.
     * @default '100ms'
     */
    trust?: Duration
    /** Time to live of tag version keys, refreshed whenever they are read. @default '30d' */
    versionTtl?: Duration
    /**
     * Keep an index of each tag's entries and delete invalidated entries in the background (SSCAN +
     * UNLINK). Without it, invalidated entries are misses and leave memory by their own ttl.
     * @default true
     */
    reclaim?: boolean
    /** Sweeper pace in entries per second. @default 200000 */
    sweepRate?: number
  }
  /** Environment variables to read instead of `process.env` (tests, multi-tenant setups). */
  environment?: Readonly<Record<string, string | undefined>>
  /**
   * An existing node-redis client or cluster (`createClient()` / `createCluster()` from `redis` or
   * `@redis/client` 5) to use as the command connection, as connect-redis takes one. The app owns it:
   * redkit connects it if it is not open yet and never closes it; the subscriber and BullMQ connections
   * are redkit's own, made with `client.duplicate()` and closed by `kit.close()`. Commands keep the
   * breaker and `commandTimeout`. Not with `url`, `host`, `cluster` or `sentinel`.
   * @example createRedkit({ client: await createClient({ url }).connect(), app: 'shop' })
   */
  client?: ExistingRedisClient
}

/** What redkit needs of an app's own node-redis client or cluster (see {@link RedkitOptions.client}). */
export interface ExistingRedisClient {
  readonly isOpen: boolean
  connect(): Promise<unknown>
  duplicate(): unknown
}

/** How to reach the backend, after parsing. */
export type ResolvedTarget =
  | { mode: 'memory' }
  | {
      mode: 'redis'
      host: string
      port: number
      db: number
      username?: string
      password?: Secret
      tls?: TlsOptions
    }
  | { mode: 'cluster'; nodes: NodeAddress[]; username?: string; password?: Secret; tls?: TlsOptions }
  | {
      mode: 'sentinel'
      sentinels: NodeAddress[]
      name: string
      db: number
      username?: string
      password?: Secret
      sentinelPassword?: Secret
      tls?: TlsOptions
    }

/** Options after defaults, environment and validation: what the rest of redkit reads. */
export interface ResolvedOptions {
  target: ResolvedTarget
  /** The app's own client for the command connection, when given. */
  client?: ExistingRedisClient
  /** Printable description of the target, credentials removed. */
  describe: string
  app: string
  prefix: string
  logger: Logger
  commandTimeoutMs: number
  connectTimeoutMs: number
  closeTimeoutMs: number
  breaker: { threshold: number; cooldownMs: number }
  tags: { trustMs: number; versionTtlMs: number; reclaim: boolean; sweepRate: number }
}

const KNOWN_OPTIONS = new Set<string>([
  'url',
  'host',
  'port',
  'username',
  'password',
  'db',
  'tls',
  'cluster',
  'sentinel',
  'app',
  'env',
  'prefix',
  'logger',
  'commandTimeout',
  'connectTimeout',
  'closeTimeout',
  'breaker',
  'tags',
  'environment',
  'client',
])

const BREAKER_OPTIONS = new Set(['threshold', 'cooldown'])
const TAGS_OPTIONS = new Set(['trust', 'versionTtl', 'reclaim', 'sweepRate'])
const CLUSTER_OPTIONS = new Set(['nodes'])
const SENTINEL_OPTIONS = new Set(['sentinels', 'name', 'password'])
const NODE_OPTIONS = new Set(['host', 'port'])
const WHERE = 'createRedkit'

const MEMORY_URLS = new Set(['', 'memory', 'memory://', 'disabled', 'none', 'off'])

/** Validates options, applies defaults and REDIS_* variables. Throws InvalidOptionsError. */
export function resolveOptions(options: RedkitOptions = {}): ResolvedOptions {
  checkOptionKeys(options, KNOWN_OPTIONS, WHERE)
  // Nested objects are checked as strictly as the top level: a typo there would be silently ignored.
  checkNested(options.breaker, BREAKER_OPTIONS, 'breaker', "{ threshold: 5, cooldown: '30s' }")
  checkNested(options.tags, TAGS_OPTIONS, 'tags', "{ trust: '100ms' }")
  checkNested(options.cluster, CLUSTER_OPTIONS, 'cluster', "{ nodes: ['10.0.0.1:7000'] }")
  checkNested(
    options.sentinel,
    SENTINEL_OPTIONS,
    'sentinel',
    "{ sentinels: ['10.0.0.1:26379'], name: 'mymaster' }",
  )
  const environment = options.environment ?? process.env
  const target = options.client === undefined ? resolveTarget(options, environment) : clientTarget(options)
  const app = options.app ?? 'app'
  checkName(app, 'app')
  if (options.env !== undefined) checkName(options.env, 'env')
  const prefix = options.prefix ?? (options.env ? `${app}:${options.env}:` : `${app}:`)
  if (typeof prefix !== 'string') throw new InvalidOptionsError('prefix must be a string.')

  const threshold = options.breaker?.threshold ?? 5
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new InvalidOptionsError(`breaker.threshold must be an integer >= 1, got ${threshold}.`)
  }
  const commandTimeoutMs = optionalDuration(options.commandTimeout, 'commandTimeout', 2000)
  if (commandTimeoutMs === 0) throw new InvalidOptionsError('commandTimeout must be greater than 0.')

  return {
    target,
    ...(options.client === undefined ? {} : { client: options.client }),
    describe:
      options.client === undefined ? describeTarget(target) : `app client (${describeTarget(target)})`,
    app,
    prefix,
    logger: options.logger ?? silentLogger,
    commandTimeoutMs,
    connectTimeoutMs: optionalDuration(options.connectTimeout, 'connectTimeout', 5000),
    closeTimeoutMs: optionalDuration(options.closeTimeout, 'closeTimeout', 5000),
    breaker: {
      threshold,
      cooldownMs: optionalDuration(options.breaker?.cooldown, 'breaker.cooldown', 30_000),
    },
    tags: resolveTags(options.tags),
  }
}

/** The target of an app's own client, read from its options (for messages and health only). */
function clientTarget(options: RedkitOptions): ResolvedTarget {
  const client = options.client as unknown as Record<string, unknown>
  if (typeof client !== 'object' || client === null || typeof client.duplicate !== 'function') {
    throw new InvalidOptionsError(
      'client must be a node-redis client or cluster (createClient() or createCluster()).',
    )
  }
  for (const other of [
    'url',
    'host',
    'port',
    'cluster',
    'sentinel',
    'password',
    'username',
    'db',
    'tls',
  ] as const) {
    if (options[other] !== undefined) {
      throw new InvalidOptionsError(
        `client and ${other} cannot be used together: the client already says where Redis is and how to log in.`,
      )
    }
  }
  if (typeof client.nodeClient === 'function') {
    const roots = ((
      client._options as { rootNodes?: { socket?: { host?: string; port?: number } }[] } | undefined
    )?.rootNodes ?? []) as { socket?: { host?: string; port?: number } }[]
    return {
      mode: 'cluster',
      nodes: roots.map((node) => ({
        host: node.socket?.host ?? 'localhost',
        port: node.socket?.port ?? 6379,
      })),
    }
  }
  const own = (client.options ?? {}) as { socket?: { host?: string; port?: number }; database?: number }
  return {
    mode: 'redis',
    host: own.socket?.host ?? 'localhost',
    port: own.socket?.port ?? 6379,
    db: own.database ?? 0,
  }
}

function resolveTarget(
  options: RedkitOptions,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedTarget {
  const username = options.username ?? nonEmpty(env.REDIS_USERNAME)
  const rawPassword = options.password ?? nonEmpty(env.REDIS_PASSWORD)
  const password = rawPassword === undefined ? undefined : new Secret(rawPassword)
  const tls = resolveTls(
    options.tls ?? (env.REDIS_TLS === undefined ? undefined : parseBool(env.REDIS_TLS, 'REDIS_TLS')),
  )

  const clusterNodes = options.cluster?.nodes ?? splitList(env.REDIS_CLUSTER_NODES)
  if (options.cluster && !Array.isArray(clusterNodes)) {
    throw new InvalidOptionsError(
      `${WHERE}: cluster.nodes must be an array of 'host:port' strings or { host, port }.`,
    )
  }
  if (options.cluster && clusterNodes?.length === 0) {
    throw new InvalidOptionsError('cluster.nodes must list at least one node (host:port).')
  }
  if (clusterNodes && clusterNodes.length > 0) {
    return {
      mode: 'cluster',
      nodes: clusterNodes.map((node, i) => parseNode(node, `cluster.nodes[${i}]`)),
      username,
      password,
      tls,
    }
  }

  const sentinels = options.sentinel?.sentinels ?? splitList(env.REDIS_SENTINELS)
  if (options.sentinel && !Array.isArray(sentinels)) {
    throw new InvalidOptionsError(
      `${WHERE}: sentinel.sentinels must be an array of 'host:port' strings or { host, port }.`,
    )
  }
  if (options.sentinel && sentinels?.length === 0) {
    throw new InvalidOptionsError('sentinel.sentinels must list at least one sentinel (host:port).')
  }
  if (sentinels && sentinels.length > 0) {
    const sentinelPassword = options.sentinel?.password ?? nonEmpty(env.REDIS_SENTINEL_PASSWORD)
    return {
      mode: 'sentinel',
      sentinels: sentinels.map((node, i) => parseNode(node, `sentinel.sentinels[${i}]`)),
      name: options.sentinel?.name ?? nonEmpty(env.REDIS_SENTINEL_NAME) ?? 'mymaster',
      db: parseDb(options.db ?? env.REDIS_DB, 'db'),
      username,
      password,
      sentinelPassword: sentinelPassword === undefined ? undefined : new Secret(sentinelPassword),
      tls,
    }
  }

  const url = options.url ?? env.REDIS_URL
  if (url !== undefined) {
    if (typeof url !== 'string') throw new InvalidOptionsError('url must be a string.')
    if (MEMORY_URLS.has(url.trim().toLowerCase())) return { mode: 'memory' }
    return parseRedisUrl(url, { username, password, tls, db: options.db })
  }

  const host = options.host ?? nonEmpty(env.REDIS_HOST)
  if (host === undefined) return { mode: 'memory' }
  return {
    mode: 'redis',
    host,
    port: parsePort(options.port ?? env.REDIS_PORT ?? 6379, 'port'),
    db: parseDb(options.db ?? env.REDIS_DB, 'db'),
    username,
    password,
    tls,
  }
}

function parseRedisUrl(
  url: string,
  overrides: { username?: string; password?: Secret; tls?: TlsOptions; db?: number },
): ResolvedTarget {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // WHATWG URL refuses ports above 65535 as a whole; say which part is wrong.
    const port = /^rediss?:\/\/(?:[^@/]*@)?[^/:]*:(\d+)/i.exec(url)?.[1]
    if (port !== undefined) parsePort(port, 'url port')
    throw new InvalidOptionsError(
      `url '${redactUrl(url)}' is not a valid URL; use redis://host:6379, rediss://host:6380 or 'memory'.`,
    )
  }
  const scheme = parsed.protocol
  if (scheme !== 'redis:' && scheme !== 'rediss:') {
    throw new InvalidOptionsError(
      `url has unknown scheme '${scheme}'; use redis:// (plain), rediss:// (TLS), or 'memory' for the embedded store.`,
    )
  }
  if (!parsed.hostname) throw new InvalidOptionsError(`url '${redactUrl(url)}' has no host.`)
  const urlPassword = parsed.password ? decodeURIComponent(parsed.password) : undefined
  const urlUser = parsed.username ? decodeURIComponent(parsed.username) : undefined
  const path = parsed.pathname.replace(/^\//, '')
  return {
    mode: 'redis',
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsePort(parsed.port === '' ? 6379 : parsed.port, 'url port'),
    db: parseDb(overrides.db ?? (path === '' ? undefined : path), 'url database'),
    username: urlUser ?? overrides.username,
    password: urlPassword === undefined ? overrides.password : new Secret(urlPassword),
    tls: scheme === 'rediss:' ? (overrides.tls ?? {}) : overrides.tls,
  }
}

function resolveTls(value: boolean | TlsOptions | undefined): TlsOptions | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return {}
  if (typeof value !== 'object') throw new InvalidOptionsError('tls must be true, false or Node TLS options.')
  return value
}

/** Checks the keys of a nested options object, when it is given. */
function checkNested(value: unknown, known: ReadonlySet<string>, path: string, example: string): void {
  if (value !== undefined) checkOptionKeys(value, known, WHERE, { path, example })
}

function parseNode(node: string | NodeAddress, name: string): NodeAddress {
  if (typeof node === 'object' && node !== null) {
    checkOptionKeys(node, NODE_OPTIONS, WHERE, { path: name, example: "{ host: '10.0.0.1', port: 7000 }" })
    if (!node.host) throw new InvalidOptionsError(`${name} has no host.`)
    return { host: node.host, port: parsePort(node.port, `${name}.port`) }
  }
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(String(node).trim())
  if (!match) throw new InvalidOptionsError(`${name} '${node}' must be 'host:port'.`)
  return { host: match[1]!, port: parsePort(match[2]!, name) }
}

function parsePort(value: unknown, name: string): number {
  const port = typeof value === 'string' ? Number(value) : value
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidOptionsError(
      `${name} must be an integer between 1 and 65535, got ${JSON.stringify(value)}.`,
    )
  }
  return port
}

function parseDb(value: unknown, name: string): number {
  if (value === undefined || value === '') return 0
  const db = typeof value === 'string' ? Number(value) : value
  if (typeof db !== 'number' || !Number.isInteger(db) || db < 0) {
    throw new InvalidOptionsError(`${name} must be a database index >= 0, got ${JSON.stringify(value)}.`)
  }
  return db
}

function parseBool(value: string, name: string): boolean {
  const normal = value.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(normal)) return true
  if (['0', 'false', 'no', 'off', ''].includes(normal)) return false
  throw new InvalidOptionsError(`${name} must be true or false, got '${value}'.`)
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

function splitList(value: string | undefined): string[] | undefined {
  if (!value) return undefined
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
}

function describeTarget(target: ResolvedTarget): string {
  switch (target.mode) {
    case 'memory':
      return 'memory'
    case 'redis':
      return `${target.tls ? 'rediss' : 'redis'}://${target.username ? `${target.username}@` : ''}${target.host}:${target.port}/${target.db}`
    case 'cluster':
      return `cluster(${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')})`
    case 'sentinel':
      return `sentinel(${target.name}@${target.sentinels.map((n) => `${n.host}:${n.port}`).join(',')})`
  }
}

function resolveTags(tags: RedkitOptions['tags'] = {}): ResolvedOptions['tags'] {
  const sweepRate = tags.sweepRate ?? 200_000
  if (typeof sweepRate !== 'number' || !(sweepRate > 0)) {
    throw new InvalidOptionsError(
      `tags.sweepRate must be a positive number of entries per second, got ${sweepRate}.`,
    )
  }
  if (tags.reclaim !== undefined && typeof tags.reclaim !== 'boolean') {
    throw new InvalidOptionsError('tags.reclaim must be true or false.')
  }
  const versionTtlMs = optionalDuration(tags.versionTtl, 'tags.versionTtl', 30 * 86_400_000)
  if (versionTtlMs === 0) throw new InvalidOptionsError('tags.versionTtl must be greater than 0.')
  return {
    trustMs: optionalDuration(tags.trust, 'tags.trust', 100),
    versionTtlMs,
    reclaim: tags.reclaim ?? true,
    sweepRate,
  }
}
