// Turns the CLI's connection flags (and REDIS_* variables) into a kit and a diagnostics connection,
// with the library's own option rules, so `npx redkit` reaches Redis exactly as the app does.

import { type RedkitOptions, resolveOptions } from '../config/options.js'
import { InvalidOptionsError } from '../errors.js'
import { Redkit } from '../redkit.js'
import { type AdminNodes, adminNodes } from './admin-nodes.js'

/** The connection flags every command takes. */
export interface ConnectionFlags {
  /** `redis://` / `rediss://` url; else REDIS_URL, REDIS_HOST... */
  url?: string
  /** Cluster seed nodes, `host:port,host:port`. */
  cluster?: string
  /** App name (first part of the key prefix). */
  app?: string
  /** Environment name (second part of the key prefix). */
  env?: string
  /** Full key prefix, instead of app and env. */
  prefix?: string
  /** Command timeout, e.g. `5s`. */
  timeout?: string
}

/** A kit for the app's keys and a diagnostics connection to the same deployment. */
export interface CliConnection {
  readonly kit: Redkit
  readonly admin: AdminNodes
  /** Where the CLI connects, credentials removed. */
  readonly describe: string
  close(): Promise<void>
}

/** The CLI's connections are named `redkit-cli:<role>`, so `doctor` can tell them from the app's. */
export const CLI_APP = 'redkit-cli'

/**
 * Connects (lazily) as the flags and environment say.
 * @throws InvalidOptionsError for bad flags, or when no Redis is configured (the CLI has no memory mode)
 */
export function connect(flags: ConnectionFlags, environment = process.env): CliConnection {
  const where: RedkitOptions = { environment }
  if (flags.url !== undefined) where.url = flags.url
  if (flags.cluster !== undefined) where.cluster = { nodes: splitNodes(flags.cluster) }
  if (flags.timeout !== undefined) where.commandTimeout = flags.timeout
  // The app's prefix, from its own app/env rules; the connections themselves carry the CLI's name.
  const appOptions = resolveOptions({
    ...where,
    ...(flags.app === undefined ? {} : { app: flags.app }),
    ...(flags.env === undefined ? {} : { env: flags.env }),
    ...(flags.prefix === undefined ? {} : { prefix: flags.prefix }),
  })
  if (appOptions.target.mode === 'memory') {
    throw new InvalidOptionsError(
      'No Redis to connect to: pass --url redis://host:6379 or --cluster host:port,..., or set REDIS_URL (or REDIS_HOST).',
    )
  }
  const options = resolveOptions({ ...where, app: CLI_APP, prefix: appOptions.prefix })
  const kit = new Redkit(options)
  const admin = adminNodes(options)
  return {
    kit,
    admin,
    describe: options.describe,
    close: async () => {
      await Promise.allSettled([kit.close(), admin.close()])
    },
  }
}

function splitNodes(list: string): string[] {
  const nodes = list
    .split(',')
    .map((node) => node.trim())
    .filter((node) => node !== '')
  if (nodes.length === 0) throw new InvalidOptionsError('--cluster needs at least one host:port.')
  return nodes
}
