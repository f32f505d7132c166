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
 * many rounds: on a shared machine load shifts within seconds, and fine interleaving gives both
 * sides the same share of it. `--quick` trades precision for a fast check.
 */
const PROFILES = {
  full: { durationMs: 5000, rounds: 10, warmupMs: 1000 },
  quick: { durationMs: 1000, rounds: 5, warmupMs: 250 },
} as const

/** One result line; `--json` prints exactly these fields. */
interface ResultRow {
  suite: string
  case: string
  opsPerSec: number
  baseline: string
  baselineOpsPerSec: number
  ratio: number
}

interface Cli {
  suite: string
  quick: boolean
  json: boolean
}

interface Target {
  url: string
  /** Stops the server the runner started; a no-op for REDIS_URL. */
  stop(): Promise<void>
}

function usage(): string {
  const width = Math.max(...suites.map((suite) => suite.name.length))
  return [
    'usage: npm run bench -- <suite> [--quick] [--json]',
    '',
    'suites:',
    ...suites.map((suite) => `  ${suite.name.padEnd(width)}  ${suite.description}`),
    '',
    'options:',
    `  --quick  ${PROFILES.quick.durationMs / 1000} s per side and case instead of ${PROFILES.full.durationMs / 1000} s`,
    '  --json   one JSON object per case on stdout, nothing else',
    '',
    'Uses REDIS_URL when set, else starts a redis-server on a free port for the run.',
  ].join('\n')
}

const OPTIONS = {
  quick: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

function parseCli(argv: string[]): Cli | 'help' | string {
  let parsed: { values: { quick?: boolean; json?: boolean; help?: boolean }; positionals: string[] }
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
  return { suite, quick: parsed.values.quick === true, json: parsed.values.json === true }
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
  { title: 'suite', width: 12, align: 'left' },
  { title: 'case', width: 12, align: 'left' },
  { title: 'ops/s', width: 11, align: 'right' },
  { title: 'baseline', width: 14, align: 'left' },
  { title: 'baseline ops/s', width: 14, align: 'right' },
  { title: 'ratio', width: 6, align: 'right' },
] as const

function tableLine(cells: readonly string[]): string {
  return COLUMNS.map((column, i) => {
    const cell = cells[i] ?? ''
    return column.align === 'left' ? cell.padEnd(column.width) : cell.padStart(column.width)
  })
    .join('  ')
    .trimEnd()
}

function tableHeader(): string {
  return `${tableLine(COLUMNS.map((column) => column.title))}\n${tableLine(COLUMNS.map((column) => '-'.repeat(column.width)))}`
}

function tableRow(row: ResultRow): string {
  const ops = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 })
  return tableLine([
    row.suite,
    row.case,
    ops(row.opsPerSec),
    row.baseline,
    ops(row.baselineOpsPerSec),
    row.ratio.toFixed(3),
  ])
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
    const prepared = await suite.setup({
      url: target.url,
      keyPrefix: `redkit-bench:${randomBytes(4).toString('hex')}:`,
    })
    const rows: ResultRow[] = []
    try {
      for (const benchCase of prepared.cases) {
        progress(`bench: ${benchCase.name} ...`)
        if ('measure' in benchCase) {
          const measured = await benchCase.measure({ quick: cli.quick })
          const row: ResultRow = {
            suite: suite.name,
            case: benchCase.name,
            opsPerSec: Math.round(measured.opsPerSec),
            baseline: benchCase.baselineName,
            baselineOpsPerSec: Math.round(measured.baselineOpsPerSec),
            ratio: Math.round((measured.opsPerSec / measured.baselineOpsPerSec) * 1000) / 1000,
          }
          rows.push(row)
          if (cli.json) console.log(JSON.stringify(row))
          continue
        }
        const result = await compare(benchCase.subject, benchCase.baseline, {
          concurrency: benchCase.concurrency,
          ...profile,
        })
        const row: ResultRow = {
          suite: suite.name,
          case: benchCase.name,
          opsPerSec: Math.round(result.subject.opsPerSec),
          baseline: benchCase.baselineName,
          baselineOpsPerSec: Math.round(result.baseline.opsPerSec),
          ratio: Math.round(result.ratio * 1000) / 1000,
        }
        rows.push(row)
        if (cli.json) console.log(JSON.stringify(row))
        // Every round, so a noisy run (rounds far apart) is visible next to the medians.
        progress(`  redkit rounds:   ${formatRounds(result.subject.rounds)}`)
        progress(`  baseline rounds: ${formatRounds(result.baseline.rounds)}`)
      }
    } finally {
      await prepared.teardown()
    }
    if (!cli.json) console.log([tableHeader(), ...rows.map(tableRow)].join('\n'))
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
