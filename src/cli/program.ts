// The commander wiring of `npx redkit`: flags, help texts and exit codes. The work itself is in one
// module per command (doctor, stats, invalidate, keys), which take a kit and an output sink.

import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { errorMessage } from '../errors.js'
import { type CliConnection, type ConnectionFlags, connect } from './connect.js'
import { printDoctor, runDoctor } from './doctor.js'
import { NotConfirmedError, printInvalidation, runInvalidation } from './invalidate.js'
import { listKeys, printKeys } from './keys.js'
import { type Output, terminalOutput } from './output.js'
import { printStats, runStats } from './stats.js'

/** Exit codes: 0 all good (warnings allowed), 1 a check failed or the run was not confirmed, 2 an error. */
export const EXIT = { ok: 0, failed: 1, error: 2 } as const

interface GlobalFlags extends ConnectionFlags {
  progress?: boolean
}

const ENVIRONMENT_HELP = `
Connection: --url or --cluster, else the variables the library reads: REDIS_URL, or REDIS_HOST,
REDIS_PORT, REDIS_USERNAME, REDIS_PASSWORD, REDIS_DB, REDIS_TLS; REDIS_CLUSTER_NODES for a Cluster.
Keys are looked for under the app's prefix, '<app>:<env>:' (--app, --env) or --prefix.
Passwords are never printed.

Exit codes: 0 all good (warnings allowed), 1 a check failed or a change was not confirmed,
2 bad arguments or Redis could not be used.`

/**
 * Runs the CLI with `argv` (as `process.argv`) and resolves with the exit code.
 * @param makeOutput where results go, given the `--progress` choice
 */
export async function main(
  argv: readonly string[],
  makeOutput: (progress: boolean | undefined) => Output = (progress) =>
    terminalOutput(progress === undefined ? {} : { progress }),
): Promise<number> {
  let exitCode: number = EXIT.ok
  const program = new Command('redkit')
    .description(
      'Inspect and maintain the Redis data of a redkit app: health checks, memory per namespace, cache invalidation.',
    )
    .option(
      '--url <url>',
      'Redis url, redis://[user:password@]host:port[/db] or rediss:// for TLS (default: REDIS_URL)',
    )
    .option('--cluster <nodes>', 'Redis Cluster seed nodes, comma-separated host:port')
    .option('--app <name>', "the app's name, first part of its key prefix (default: 'app')")
    .option('--env <name>', "the app's environment, second part of its key prefix (e.g. 'prod')")
    .option('--prefix <prefix>', 'the full key prefix, instead of --app and --env')
    .option('--timeout <duration>', "command timeout, e.g. '5s' (default: '2s')")
    .option('--progress', 'show progress bars on stderr even when it is not a terminal')
    .option('--no-progress', 'never show progress bars')
    .addHelpText('after', ENVIRONMENT_HELP)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()

  const withConnection = async (
    command: Command,
    work: (connection: CliConnection, output: Output) => Promise<number>,
  ): Promise<void> => {
    const flags = command.optsWithGlobals<GlobalFlags>()
    const output = makeOutput(flags.progress)
    const connection = connect(flags)
    try {
      exitCode = await work(connection, output)
    } finally {
      await connection.close()
    }
  }

  program
    .command('doctor')
    .summary('check version, memory, eviction, connections, persistence, ACL, TLS, latency')
    .description(
      'Check the server the way a troubleshooting guide does: version, maxmemory and eviction policy, connections per app, persistence, ACL permissions, TLS and latency (per master on a Cluster). Exits 1 when a check fails.',
    )
    .option('--json', 'print the report as JSON')
    .option(
      '--bullmq',
      'the app runs BullMQ queues on this Redis (also detected from BullMQ keys under the prefix or --bullmq-prefix)',
    )
    .option('--bullmq-prefix <prefix>', "BullMQ's key prefix", 'bull')
    .option('--pings <n>', 'PING round trips per node for the latency figures', positiveInt, 50)
    .option(
      '--processes-per-host <n>',
      'app processes expected per client address (each has one command and one subscriber connection)',
      positiveInt,
      1,
    )
    .action(
      async (
        flags: {
          json?: boolean
          bullmq?: boolean
          bullmqPrefix: string
          pings: number
          processesPerHost: number
        },
        command: Command,
      ) => {
        await withConnection(command, async (connection, output) => {
          const report = await runDoctor(connection, {
            bullmq: flags.bullmq === true,
            bullmqPrefix: flags.bullmqPrefix,
            pings: flags.pings,
            processesPerHost: flags.processesPerHost,
          })
          printDoctor(report, output, flags.json === true)
          return report.ok ? EXIT.ok : EXIT.failed
        })
      },
    )

  program
    .command('stats')
    .summary('keys and estimated memory per namespace, tag indexes, pending sweeps')
    .description(
      'Keys and memory per namespace under the prefix (caches, limiters, sessions, tags), from SCAN on every master. Memory is an estimate: MEMORY USAGE of a sample of keys per namespace, times its key count.',
    )
    .option('--json', 'print the report as JSON')
    .option('--samples <n>', 'keys per namespace whose memory is measured', positiveInt, 20)
    .option('--top <n>', 'largest tags listed', positiveInt, 10)
    .action(async (flags: { json?: boolean; samples: number; top: number }, command: Command) => {
      await withConnection(command, async (connection, output) => {
        const report = await runStats(connection, output, { samples: flags.samples, top: flags.top })
        printStats(report, output, flags.json === true)
        return EXIT.ok
      })
    })

  program
    .command('invalidate')
    .summary("invalidate cache entries by tag, or delete one cache's keys by pattern")
    .description(
      'Invalidate cache entries by tag (in every cache, through kit.invalidateTags) or delete the entries of one cache whose key matches a glob (SCAN + UNLINK, never KEYS). Counts first, then asks; without a terminal it needs --yes.',
    )
    .option('--tag <tag...>', 'tag(s) to invalidate')
    .option('--namespace <name>', 'the cache namespace a --pattern applies to')
    .option('--pattern <glob>', "glob relative to the cache, e.g. 'product:*'")
    .option('--dry-run', 'count only, change nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  redkit invalidate --tag vendor:42 --dry-run
  redkit invalidate --namespace products --pattern 'product:*' --yes`,
    )
    .action(
      async (
        flags: {
          tag?: string[]
          namespace?: string
          pattern?: string
          dryRun?: boolean
          yes?: boolean
          json?: boolean
        },
        command: Command,
      ) => {
        const byTag = flags.tag !== undefined && flags.tag.length > 0
        const byPattern = flags.pattern !== undefined || flags.namespace !== undefined
        if (byTag === byPattern) {
          command.error(
            'invalidate needs either --tag <tag...> or --namespace <name> with --pattern <glob>.',
            {
              exitCode: EXIT.error,
            },
          )
        }
        if (byPattern && (flags.pattern === undefined || flags.namespace === undefined)) {
          command.error('--pattern and --namespace go together: the pattern is relative to that cache.', {
            exitCode: EXIT.error,
          })
        }
        await withConnection(command, async (connection, output) => {
          const request = byTag
            ? { tags: flags.tag! }
            : { namespace: flags.namespace!, pattern: flags.pattern! }
          const result = await runInvalidation(connection.kit, request, output, {
            dryRun: flags.dryRun === true,
            yes: flags.yes === true,
          })
          printInvalidation(result, output, flags.json === true)
          return EXIT.ok
        })
      },
    )

  program
    .command('keys')
    .summary('list keys under the prefix (SCAN, bounded by --limit)')
    .description('List keys under the prefix matching a glob, with SCAN on every master (never KEYS).')
    .argument('[pattern]', "glob relative to the prefix, e.g. 'cache:products:*'", '*')
    .option('--limit <n>', 'most keys listed', positiveInt, 100)
    .option('--json', 'print the result as JSON')
    .action(async (pattern: string, flags: { limit: number; json?: boolean }, command: Command) => {
      await withConnection(command, async (connection, output) => {
        printKeys(
          await listKeys(connection.kit, { pattern, limit: flags.limit }),
          output,
          flags.json === true,
        )
        return EXIT.ok
      })
    })

  try {
    await program.parseAsync(argv)
    return exitCode
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the help or the usage error already.
      return HELP_CODES.has(error.code) ? EXIT.ok : EXIT.error
    }
    makeOutput(false).note(`redkit: ${errorMessage(error)}`)
    return error instanceof NotConfirmedError ? EXIT.failed : EXIT.error
  }
}

const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version'])

function positiveInt(value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('must be a whole number >= 1.')
  return number
}
