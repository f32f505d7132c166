// `npm run soak`: mixed load on one Redis for N minutes (`--minutes 10` by default). Every minute, after a
// GC: heap, RSS, Redis DBSIZE/used_memory and the number of tag keys; exits 1 when the heap keeps growing.

import { parseArgs } from 'node:util'
import { getHeapStatistics } from 'node:v8'
import { createRedkit } from '../../src/index.js'
import { startRedis, stopAllServers } from '../harness/index.js'
import { startWorkload } from './workload.js'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    // Heap growth per minute (least-squares slope after the first sample) above which the run fails.
    'max-slope-mb': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
})
const minutes = Number(values.minutes)
const maxSlopeMb = Number(values['max-slope-mb'])
const collect = (globalThis as { gc?: () => void }).gc
if (!collect) {
  process.stderr.write('soak: run with --expose-gc (npm run soak sets it through NODE_OPTIONS)\n')
  process.exit(2)
}

interface Sample {
  minute: number
  operations: number
  heapUsedMb: number
  rssMb: number
  totalHeapMb: number
  dbsize: number
  redisUsedMb: number
  tagKeys: number
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10
const server = await startRedis()
const kit = createRedkit({ url: server.url, app: 'soak', environment: {} })
await kit.ready()
// Working set: 200 keys in each of two namespaces, sessions of 8 workers, limiter keys; the load's
// own records are dropped each minute so they do not count as growth.
const load = await startWorkload(kit, { workers: 8, keys: 200, limit: 1_000_000_000, pauseMs: 1 })
const tagPattern = `${kit.keys.scope('tag').prefix}*`

async function countKeys(match: string): Promise<number> {
  let count = 0
  let cursor = '0'
  do {
    const reply = (await server.cli('SCAN', cursor, 'MATCH', match, 'COUNT', '1000')).split('\n')
    cursor = reply[0]!
    count += reply.slice(1).filter((line) => line.length > 0).length
  } while (cursor !== '0')
  return count
}

let operations = 0
async function sample(minute: number): Promise<Sample> {
  operations += load.records.length
  ;(load.records as unknown[]).length = 0
  collect!()
  collect!()
  const memory = process.memoryUsage()
  const info = await server.cli('INFO', 'memory')
  const invalidations = kit.invalidateTags(['w0', 'w1'])
  await invalidations
  return {
    minute,
    operations,
    heapUsedMb: mb(memory.heapUsed),
    rssMb: mb(memory.rss),
    totalHeapMb: mb(getHeapStatistics().total_heap_size),
    dbsize: Number(await server.cli('DBSIZE')),
    redisUsedMb: mb(Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0)),
    tagKeys: await countKeys(tagPattern),
  }
}

const samples: Sample[] = []
for (let minute = 0; minute <= minutes; minute++) {
  if (minute > 0) await new Promise((resolve) => setTimeout(resolve, 60_000))
  samples.push(await sample(minute))
  if (!values.json) process.stderr.write(`minute ${minute}: heap ${samples.at(-1)!.heapUsedMb} MB\n`)
}
await load.stop()
await kit.close()
await stopAllServers()

// Least-squares slope of heap used per minute, leaving out minute 0 (warm-up: JIT, caches filling).
function slope(points: readonly Sample[], field: keyof Sample): number {
  const data = points.slice(1)
  if (data.length < 2) return 0
  const mx = data.reduce((s, p) => s + p.minute, 0) / data.length
  const my = data.reduce((s, p) => s + (p[field] as number), 0) / data.length
  const num = data.reduce((s, p) => s + (p.minute - mx) * ((p[field] as number) - my), 0)
  const den = data.reduce((s, p) => s + (p.minute - mx) ** 2, 0)
  return Math.round((num / den) * 100) / 100
}
const heapSlope = slope(samples, 'heapUsedMb')
const verdict = {
  heapSlopeMbPerMin: heapSlope,
  rssSlopeMbPerMin: slope(samples, 'rssMb'),
  maxDbsize: Math.max(...samples.map((s) => s.dbsize)),
  maxTagKeys: Math.max(...samples.map((s) => s.tagKeys)),
  passed: heapSlope <= maxSlopeMb,
}
if (values.json) {
  process.stdout.write(`${JSON.stringify({ samples, verdict }, null, 2)}\n`)
} else {
  const header = [
    'minute',
    'operations',
    'heap MB',
    'rss MB',
    'heap total MB',
    'DBSIZE',
    'redis MB',
    'tag keys',
  ]
  process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---:').join('|')}|\n`)
  for (const s of samples) {
    const cells = [
      s.minute,
      s.operations,
      s.heapUsedMb,
      s.rssMb,
      s.totalHeapMb,
      s.dbsize,
      s.redisUsedMb,
      s.tagKeys,
    ]
    process.stdout.write(`| ${cells.join(' | ')} |\n`)
  }
  process.stdout.write(
    `\nheap slope ${verdict.heapSlopeMbPerMin} MB/min (limit ${maxSlopeMb}), rss slope ${verdict.rssSlopeMbPerMin} MB/min, max DBSIZE ${verdict.maxDbsize}, max tag keys ${verdict.maxTagKeys}: ${verdict.passed ? 'PASS' : 'FAIL'}\n`,
  )
}
process.exit(verdict.passed ? 0 : 1)
