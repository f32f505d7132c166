// `npm run chaos`: runs the long variant of every fault scenario against servers it starts and prints
// what callers saw, one row per fault (`--json` for machine-readable rows, `--only a,b`, `--fast`).

import { parseArgs } from 'node:util'
import { stopAllServers } from '../harness/index.js'
import { clientKill } from './scenarios/client-kill.js'
import { clusterReshard } from './scenarios/cluster-reshard.js'
import { killDuringLoad } from './scenarios/kill-during-load.js'
import { maxmemoryEviction, maxmemoryNoeviction } from './scenarios/maxmemory-pressure.js'
import type { ScenarioOptions, ScenarioResult } from './scenarios/scenario-result.js'
import { sigstopDuringLoad } from './scenarios/sigstop-during-load.js'

const SCENARIOS: Record<string, (options: ScenarioOptions) => Promise<ScenarioResult>> = {
  kill9: killDuringLoad,
  sigstop: sigstopDuringLoad,
  'client-kill': clientKill,
  'maxmemory-lru': maxmemoryEviction,
  'maxmemory-noeviction': maxmemoryNoeviction,
  'cluster-reshard': clusterReshard,
}

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    fast: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})

if (values.help) {
  process.stdout.write(`npm run chaos -- [--json] [--fast] [--only ${Object.keys(SCENARIOS).join(',')}]\n`)
  process.exit(0)
}

const names = values.only ? values.only.split(',').map((name) => name.trim()) : Object.keys(SCENARIOS)
const unknown = names.filter((name) => !(name in SCENARIOS))
if (unknown.length > 0) {
  process.stderr.write(
    `unknown scenario ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}\n`,
  )
  process.exit(2)
}

const rows: ScenarioResult[] = []
const failures: { name: string; error: string }[] = []
const started = Date.now()
for (const name of names) {
  if (!values.json) process.stderr.write(`running ${name}...\n`)
  try {
    rows.push(await SCENARIOS[name]!({ mode: values.fast ? 'fast' : 'long' }))
  } catch (error) {
    failures.push({ name, error: error instanceof Error ? (error.stack ?? error.message) : String(error) })
  }
}
await stopAllServers()

if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ startedAt: new Date(started).toISOString(), rows, failures }, null, 2)}\n`,
  )
} else {
  printTable(rows)
  for (const row of rows) {
    process.stdout.write(`\n${row.fault}\n${row.notes.map((note) => `  - ${note}`).join('\n')}\n`)
  }
  for (const failure of failures) process.stdout.write(`\nFAILED ${failure.name}: ${failure.error}\n`)
  process.stdout.write(
    `\n${rows.length} scenarios in ${Math.round((Date.now() - started) / 1000)} s, node ${process.version}\n`,
  )
}
process.exit(failures.length > 0 ? 1 : 0)

function printTable(results: readonly ScenarioResult[]): void {
  const header = [
    'fault',
    'operations',
    'exceptions',
    'values lost',
    'stale served',
    'recovery ms',
    'slowest ms',
  ]
  const body = results.map((r) => [
    r.fault,
    String(r.operations),
    String(r.exceptions),
    String(r.valuesLost),
    String(r.staleServed),
    r.recoveryMs === null ? '-' : String(r.recoveryMs),
    String(r.maxWaitMs),
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((row) => row[i]!.length)))
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`
  process.stdout.write(`${line(header)}\n`)
  process.stdout.write(
    `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |\n`,
  )
  for (const row of body) process.stdout.write(`${line(row)}\n`)
}
