// Command-line runner of the benchmarks: `npm run bench -- <suite> [--quick] [--json]`.
// Finds a Redis (REDIS_URL or a throwaway server), runs the suite's cases and prints a table or JSON lines.

import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { compare } from './measure.js'
import { findSuite, suites } from './suites/index.js'

/** Exit code of a command line the runner does not understand. */
const USAGE_EXIT = 2

/**
 * Measured time per side and case, split into alternating rounds, plus a warm-up per side. Short,
 * many rounds: on a shared machine load shifts within seconds, and fine interleaving gives every
 * side the same share of it. `--quick` trades precision for a fast check.
 */
const PROFILES = {
  full: { durationMs: 5000, rounds: 10, warmupMs: 1000 },
  quick: { durationMs: 1000, rounds: 5, warmupMs: 250 },
} as const

/** One result line (a case against one of its baselines); `--json` prints exactly these fields. */
interface ResultRow {
  suite: string
  case: string
  opsPerSec: number
  baseline: string
  baselineOpsPerSec: number
  ratio: number
  /** The ratio aimed for, or null for a baseline that is only reported. */
  target: number | null
}

interface Cli {
  suite: string
  quick: boolean
  json: boolean
  /** Only the cases whose name contains this text (a rerun of one case on a noisy machine). */
  only: string | undefined
}

interface Target {
  url: string
  /** Stops the server the runner started; a no-op for REDIS_URL. */
  stop(): Promise<void>
}

function usage(): string {
  const width = Math.max(...suites.map((suite) => suite.name.length))
  return [
    'usage: npm run bench -- <suite> [--quick] [--json] [--case <text>]',
    '',
    'suites:',
    ...suites.map((suite) => `  ${suite.name.padEnd(width)}  ${suite.description}`),
    '',
    'options:',
    `  --quick  ${PROFILES.quick.durationMs / 1000} s per side and case instead of ${PROFILES.full.durationMs / 1000} s`,
    '  --json   one JSON object per table row on stdout, nothing else',
    '  --case   only the cases whose name contains <text>, e.g. --case compound',
    '',
    'Uses REDIS_URL when set, else starts a redis-server on a free port for the run.',
  ].join('\n')
}

const OPTIONS = {
  quick: { type: 'boolean' },
  json: { type: 'boolean' },
  case: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

function parseCli(argv: string[]): Cli | 'help' | string {
  let parsed: {
    values: { quick?: boolean; json?: boolean; case?: string; help?: boolean }
    positionals: string[]
  }
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  if (parsed.values.help) return 'help'
  const [suite, ...extra] = parsed.positionals
  if (suite === undefined) return 'no suite given'
  if (extra.length > 0) return `unexpected argument '${extra[0]}'`
  if (!findSuite(suite)) return `unknown suite '${suite}'`
  if (parsed.values.case === '') return '--case needs the text of a case name'
  return {
    suite,
    quick: parsed.values.quick === true,
    json: parsed.values.json === true,
    only: parsed.values.case,
  }
}

async function findTarget(): Promise<Target> {
  const url = process.env.REDIS_URL
  if (url) return { url, stop: async () => {} }
  // Loaded only when needed: with REDIS_URL the runner does not touch the test harness at all.
  const { startRedis, stopAllServers } = await import('../test/harness/index.js')
  const server = await startRedis()
  return {
    url: server.url,
    stop: async () => {
      await server.stop()
      await stopAllServers()
    },
  }
}

/** host:port of a url, for display: a REDIS_URL may carry a password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}`
  } catch {
    return '(unparsable url)'
  }
}

const COLUMNS = [
  { title: 'suite', align: 'left' },
  { title: 'case', align: 'left' },
  { title: 'ops/s', align: 'right' },
  { title: 'baseline', align: 'left' },
  { title: 'baseline ops/s', align: 'right' },
  { title: 'ratio', align: 'right' },
  { title: 'target', align: 'left' },
] as const

function tableCells(row: ResultRow): string[] {
  const ops = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 })
  return [
    row.suite,
    row.case,
    ops(row.opsPerSec),
    row.baseline,
    ops(row.baselineOpsPerSec),
    row.ratio.toFixed(3),
    row.target === null ? '' : `>= ${row.target}`,
  ]
}

/** The table, each column as wide as its widest cell: case and baseline names vary a lot by suite. */
function table(rows: readonly ResultRow[]): string {
  const lines = [COLUMNS.map((column) => column.title), ...rows.map(tableCells)]
  const widths = COLUMNS.map((_, i) => Math.max(...lines.map((cells) => cells[i]!.length)))
  const line = (cells: readonly string[]): string =>
    COLUMNS.map((column, i) =>
      column.align === 'left' ? cells[i]!.padEnd(widths[i]!) : cells[i]!.padStart(widths[i]!),
    )
      .join('  ')
      .trimEnd()
  const [header, ...body] = lines
  return [line(header!), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n')
}

function formatRounds(values: readonly number[]): string {
  return values.map((value) => Math.round(value).toLocaleString('en-US')).join('  ')
}

async function main(): Promise<number> {
  const cli = parseCli(process.argv.slice(2))
  if (cli === 'help') {
    console.log(usage())
    return 0
  }
  if (typeof cli === 'string') {
    console.error(`bench: ${cli}\n\n${usage()}`)
    return USAGE_EXIT
  }
  const suite = findSuite(cli.suite)!
  const profile = cli.quick ? PROFILES.quick : PROFILES.full
  const progress = (line: string): void => {
    if (!cli.json) console.error(line)
  }

  let target: Target | undefined
  let interrupted = false
  // Ctrl-C mid-run must not leave the runner's redis-server behind.
  process.on('SIGINT', () => {
    // A second Ctrl-C does not wait for the cleanup.
    if (interrupted) process.exit(130)
    interrupted = true
    console.error('bench: interrupted, stopping')
    setTimeout(() => process.exit(130), 5000).unref()
    void (target?.stop() ?? Promise.resolve()).finally(() => process.exit(130))
  })

  try {
    target = await findTarget()
    if (interrupted) return 130
    progress(
      `bench: suite ${suite.name} on ${describeUrl(target.url)}, ${profile.durationMs / 1000} s per side in ${profile.rounds} alternating rounds (median), node ${process.version}`,
    )
    const context = { url: target.url, keyPrefix: `redkit-bench:${randomBytes(4).toString('hex')}:` }
    if ('run' in suite) {
      if (cli.only !== undefined) progress(`bench: suite ${suite.name} has no separate cases; --case ignored`)
      await suite.run(context, { quick: cli.quick, json: cli.json })
      return 0
    }
    const prepared = await suite.setup(context)
    const cases =
      cli.only === undefined
        ? prepared.cases
        : prepared.cases.filter((benchCase) => benchCase.name.includes(cli.only!))
    if (cases.length === 0) {
      await prepared.teardown()
      console.error(
        `bench: no case of ${suite.name} contains '${cli.only}'; its cases: ${prepared.cases.map((c) => c.name).join(', ')}`,
      )
      return USAGE_EXIT
    }
    const rows: ResultRow[] = []
    const report = (row: ResultRow): void => {
      rows.push(row)
      if (cli.json) console.log(JSON.stringify(row))
    }
    const roundRatio = (ratio: number): number => Math.round(ratio * 1000) / 1000
    try {
      for (const benchCase of cases) {
        progress(`bench: ${benchCase.name} ...`)
        if ('measure' in benchCase) {
          const measured = await benchCase.measure({ quick: cli.quick })
          report({
            suite: suite.name,
            case: benchCase.name,
            opsPerSec: Math.round(measured.opsPerSec),
            baseline: benchCase.baselineName,
            baselineOpsPerSec: Math.round(measured.baselineOpsPerSec),
            ratio: roundRatio(
              measured.baselineOpsPerSec === 0 ? 0 : measured.opsPerSec / measured.baselineOpsPerSec,
            ),
            target: benchCase.target ?? null,
          })
          continue
        }
        const result = await compare(
          benchCase.subject,
          benchCase.baselines.map((baseline) => baseline.operation),
          { concurrency: benchCase.concurrency, ...profile },
        )
        // Every round, so a noisy run (rounds far apart) is visible next to the medians.
        progress(`  subject rounds: ${formatRounds(result.subject.rounds)}`)
        benchCase.baselines.forEach((baseline, i) => {
          const measured = result.baselines[i]!
          progress(`  ${baseline.name} rounds: ${formatRounds(measured.rounds)}`)
          report({
            suite: suite.name,
            case: benchCase.name,
            opsPerSec: Math.round(result.subject.opsPerSec),
            baseline: baseline.name,
            baselineOpsPerSec: Math.round(measured.opsPerSec),
            ratio: roundRatio(measured.ratio),
            target: baseline.target ?? null,
          })
        })
      }
    } finally {
      await prepared.teardown()
    }
    if (!cli.json) console.log(table(rows))
    return 0
  } finally {
    await target?.stop()
  }
}

// Exit explicitly: a peer library's connections (e.g. a bus reconnecting to the stopped server) must
// not keep the process alive after the results are printed.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('bench: failed:', error)
    process.exit(1)
  },
)
