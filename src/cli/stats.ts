// `redkit stats`: keys and memory per namespace under the prefix, from SCAN on every master and
// MEMORY USAGE on a sample of each namespace (an estimate), plus tag index sizes and pending sweeps.

import { errorMessage } from '../errors.js'
import type { Redkit } from '../redkit.js'
import { type AdminNode, type AdminNodes, isNotPermitted } from './admin-nodes.js'
import { formatBytes } from './doctor.js'
import type { Output } from './output.js'

/** What kind of redkit data a namespace holds. */
export type NamespaceKind = 'cache' | 'cache-lock' | 'tag' | 'limiter' | 'session' | 'revocation' | 'other'

/** Keys and estimated memory of one namespace. */
export interface NamespaceStats {
  /** `cache:products`, `ratelimit:api`, `tag index sets`, `sess`... */
  name: string
  kind: NamespaceKind
  keys: number
  /** Keys whose MEMORY USAGE was read. */
  sampled: number
  /** Estimated bytes (mean of the sample × keys); `null` when MEMORY USAGE is not permitted. */
  memoryBytes: number | null
  /** Every key was measured, so `memoryBytes` is a sum, not an estimate. */
  exact: boolean
}

/** The result of {@link runStats}. */
export interface StatsReport {
  target: string
  mode: string
  prefix: string
  /** Memory figures are extrapolated from samples. */
  estimate: true
  samplesPerNamespace: number
  totals: { keys: number; memoryBytes: number | null }
  namespaces: NamespaceStats[]
  tags: {
    /** Tags with a current version key. */
    versionKeys: number
    /** Index sets (one per tag version with entries) and the entries they list. */
    indexSets: number
    indexedEntries: number
    /** Invalidated tag versions whose entries are not swept yet, and the tags they belong to. */
    pendingSweeps: number
    tagsWithPendingSweeps: number
    /** The tags with the most indexed entries. */
    largest: { tag: string; entries: number }[]
  }
  limiters: { name: string; keys: number }[]
  /** Why some figures are missing (a command not permitted...). */
  notes: string[]
}

/** Options of {@link runStats}. */
export interface StatsOptions {
  /** Keys per namespace whose MEMORY USAGE is read. @default 20 */
  samples?: number
  /** Keys SCAN looks at per step (COUNT). @default 1000 */
  count?: number
  /** Largest tags listed. @default 10 */
  top?: number
}

/** What stats runs against. */
export interface StatsTarget {
  kit: Redkit
  admin: AdminNodes
  describe: string
}

interface Sample {
  node: AdminNode
  key: string
}

interface Bucket {
  name: string
  kind: NamespaceKind
  keys: number
  samples: Sample[]
}

interface Classified {
  name: string
  kind: NamespaceKind
  /** For tag keys: the decoded tag and what the key is. */
  tag?: { name: string; part: 'v' | 'idx' | 'pending' | 'sweeping' }
}

/** Walks every master and builds the report. Progress goes to `output`'s bar (when shown). */
export async function runStats(
  target: StatsTarget,
  output: Output,
  options: StatsOptions = {},
): Promise<StatsReport> {
  const { kit, admin } = target
  const sampleSize = Math.max(options.samples ?? 20, 1)
  const count = options.count ?? 1000
  const nodes = await admin.masters()
  const notes: string[] = []
  const total = await dbsize(nodes)
  const progress = output.progress('scanning', total ?? 0)
  const buckets = new Map<string, Bucket>()
  const indexSets: Sample[] = []
  const pendingSets: Sample[] = []
  let versionKeys = 0
  const match = kit.keys.pattern([], '*')
  let examined = 0
  try {
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, keys] = (await node.send(['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)])) as [
          string,
          string[],
        ]
        cursor = next
        examined += count
        for (const key of keys) {
          const kind = classify(key.slice(kit.prefix.length))
          let bucket = buckets.get(kind.name)
          if (!bucket) {
            bucket = { name: kind.name, kind: kind.kind, keys: 0, samples: [] }
            buckets.set(kind.name, bucket)
          }
          bucket.keys++
          // Reservoir sampling: every key of the namespace has the same chance to be measured.
          if (bucket.samples.length < sampleSize) bucket.samples.push({ node, key })
          else {
            const slot = Math.floor(Math.random() * bucket.keys)
            if (slot < sampleSize) bucket.samples[slot] = { node, key }
          }
          if (kind.tag?.part === 'idx') indexSets.push({ node, key })
          else if (kind.tag?.part === 'pending') pendingSets.push({ node, key })
          else if (kind.tag?.part === 'v') versionKeys++
        }
        if (total !== undefined) progress.update(Math.min(examined, total))
      } while (cursor !== '0')
    }
  } finally {
    progress.stop()
  }
  if (total === undefined) notes.push('DBSIZE not permitted: no progress total')

  let memoryDenied = false
  const namespaces: NamespaceStats[] = []
  for (const bucket of [...buckets.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    let measured: number[] | null = []
    for (const sample of bucket.samples) {
      try {
        const bytes = await sample.node.send(['MEMORY', 'USAGE', sample.key])
        if (typeof bytes === 'number') measured.push(bytes)
      } catch (error) {
        if (!isNotPermitted(error)) throw error
        memoryDenied = true
        measured = null
        break
      }
    }
    const exact = measured !== null && measured.length === bucket.keys
    const mean = measured && measured.length > 0 ? sum(measured) / measured.length : 0
    namespaces.push({
      name: bucket.name,
      kind: bucket.kind,
      keys: bucket.keys,
      sampled: measured?.length ?? 0,
      memoryBytes: measured === null ? null : Math.round(exact ? sum(measured) : mean * bucket.keys),
      exact,
    })
  }
  if (memoryDenied) notes.push('MEMORY USAGE not permitted for this ACL user: no memory figures')

  const indexSizes = await cardinalities(indexSets, notes)
  const pendingSizes = await cardinalities(pendingSets, notes)
  const byTag = new Map<string, number>()
  indexSets.forEach((set, i) => {
    const tag = classify(set.key.slice(kit.prefix.length)).tag?.name ?? '?'
    byTag.set(tag, (byTag.get(tag) ?? 0) + (indexSizes[i] ?? 0))
  })
  const largest = [...byTag]
    .map(([tag, entries]) => ({ tag, entries }))
    .sort((a, b) => b.entries - a.entries || a.tag.localeCompare(b.tag))
    .slice(0, options.top ?? 10)

  return {
    target: target.describe,
    mode: admin.mode,
    prefix: kit.prefix,
    estimate: true,
    samplesPerNamespace: sampleSize,
    totals: {
      keys: sum(namespaces.map((ns) => ns.keys)),
      memoryBytes: memoryDenied ? null : sum(namespaces.map((ns) => ns.memoryBytes ?? 0)),
    },
    namespaces,
    tags: {
      versionKeys,
      indexSets: indexSets.length,
      indexedEntries: sum(indexSizes),
      pendingSweeps: sum(pendingSizes),
      tagsWithPendingSweeps: pendingSizes.filter((size) => size > 0).length,
      largest,
    },
    limiters: namespaces
      .filter((ns) => ns.kind === 'limiter')
      .map((ns) => ({ name: ns.name.slice('ratelimit:'.length), keys: ns.keys })),
    notes,
  }
}

/** Writes the report as a table or as JSON. */
export function printStats(report: StatsReport, output: Output, json: boolean): void {
  if (json) {
    output.json(report)
    return
  }
  output.line(`redkit stats: ${report.target} (${report.mode}), prefix '${report.prefix}'`)
  const rows = report.namespaces.map((ns) => [
    ns.name,
    ns.kind,
    String(ns.keys),
    ns.memoryBytes === null ? '-' : `${ns.exact ? '' : '~'}${formatBytes(ns.memoryBytes)}`,
    String(ns.sampled),
  ])
  const header = ['namespace', 'kind', 'keys', 'memory', 'sampled']
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  const format = (row: string[]) =>
    row.map((cell, i) => (i >= 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')
  output.line(format(header))
  for (const row of rows) output.line(format(row))
  const memory = report.totals.memoryBytes
  output.line(
    `total: ${report.totals.keys} keys${memory === null ? '' : `, ${report.namespaces.every((ns) => ns.exact) ? '' : '~'}${formatBytes(memory)}`} (memory is an estimate: MEMORY USAGE of up to ${report.samplesPerNamespace} sampled keys per namespace, times its key count; '~' marks extrapolated figures)`,
  )
  const tags = report.tags
  output.line(
    `tags: ${tags.versionKeys} with a version, ${tags.indexSets} index sets listing ${tags.indexedEntries} entries, ${tags.pendingSweeps} pending sweeps on ${tags.tagsWithPendingSweeps} tags`,
  )
  for (const { tag, entries } of tags.largest) output.line(`  ${tag}: ${entries} entries`)
  if (report.limiters.length > 0) {
    output.line(`limiters: ${report.limiters.map((l) => `${l.name} (${l.keys} keys)`).join(', ')}`)
  }
  for (const note of report.notes) output.note(`note: ${note}`)
}

/**
 * Which namespace a key (relative to the prefix) belongs to, after the layout of the key builders:
 * `cache:<ns>:…`, `lock:cache:<ns>:…`, `tag:{<tag>}:v|pending|idx:<version>|sweeping:<version>`,
 * `ratelimit:<name>:{<key>}`, `sess:…`, `sess.user:…`, `revoked:…`.
 */
export function classify(relative: string): Classified {
  const parts = relative.split(':')
  const [first = '', second, third] = parts
  if (first === 'cache' && second !== undefined && parts.length > 2) {
    return { name: `cache:${second}`, kind: 'cache' }
  }
  if (first === 'lock' && second === 'cache' && third !== undefined) {
    return { name: `lock:cache:${third}`, kind: 'cache-lock' }
  }
  if (first === 'ratelimit' && second !== undefined && parts.length > 2) {
    return { name: `ratelimit:${second}`, kind: 'limiter' }
  }
  if (first === 'tag' && relative.startsWith('tag:{')) {
    const close = relative.indexOf('}', 5)
    if (close > 0) {
      const tag = decodeTag(relative.slice(5, close))
      const rest = relative.slice(close + 2)
      const part = rest.split(':')[0]
      if (part === 'v') return { name: 'tag versions', kind: 'tag', tag: { name: tag, part } }
      if (part === 'idx') return { name: 'tag index sets', kind: 'tag', tag: { name: tag, part } }
      if (part === 'pending') return { name: 'tag pending sweeps', kind: 'tag', tag: { name: tag, part } }
      if (part === 'sweeping') return { name: 'tag sweep locks', kind: 'tag', tag: { name: tag, part } }
    }
  }
  if (first.startsWith('{')) return { name: '(hash-tagged)', kind: 'other' }
  if (first === 'sess' || first.endsWith('.user')) return { name: first, kind: 'session' }
  if (first === 'revoked') return { name: first, kind: 'revocation' }
  return { name: first === '' ? '(empty)' : first, kind: 'other' }
}

/** Keys encode `% : { }` as %XX and tags are URI-encoded before that: undo both for display. */
function decodeTag(encoded: string): string {
  try {
    return decodeURIComponent(decodeURIComponent(encoded))
  } catch {
    return encoded
  }
}

async function dbsize(nodes: readonly AdminNode[]): Promise<number | undefined> {
  try {
    const sizes = await Promise.all(nodes.map((node) => node.send(['DBSIZE'])))
    return sum(sizes.map(Number))
  } catch {
    return undefined
  }
}

async function cardinalities(sets: readonly Sample[], notes: string[]): Promise<number[]> {
  const sizes: number[] = []
  for (let i = 0; i < sets.length; i += 100) {
    const batch = sets.slice(i, i + 100)
    try {
      sizes.push(...(await Promise.all(batch.map((set) => set.node.send(['SCARD', set.key])))).map(Number))
    } catch (error) {
      notes.push(`SCARD failed: ${errorMessage(error)}`)
      return sizes
    }
  }
  return sizes
}

function sum(values: readonly number[]): number {
  let total = 0
  for (const value of values) total += value
  return total
}
