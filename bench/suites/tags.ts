// Suite `tags`: invalidateTags latency for tags of 1k to 1M entries beside BentoCache's deleteByTag,
// the cost of tags on an L2 hit (2 tags vs none), and the sweeper's throughput with Redis latency meanwhile.

import { Redis } from 'ioredis'
import { deleteKeys } from '../delete-keys.js'
import { median } from '../measure.js'
import { importPeer } from '../peer-libraries.js'
import { createRedkit } from '../redkit.js'
import type { BenchCase, BenchSuite, MeasuredCase } from './suite.js'

const WRITE_BATCH = 5000
const HIT_KEYS = 1000

interface BentoLike {
  set(options: { key: string; value: unknown; ttl?: string; tags?: string[] }): Promise<unknown>
  deleteByTag(options: { tags: string[] }): Promise<unknown>
  disconnect(): Promise<void>
}

export const tagsSuite: BenchSuite = {
  name: 'tags',
  description:
    'invalidateTags latency (1k..1M entries) vs BentoCache deleteByTag, tagged L2 hit, sweeper throughput',
  async setup({ url, keyPrefix }) {
    const kit = createRedkit({ url, prefix: `${keyPrefix}rk:`, app: 'bench', environment: {} })
    const entries = kit.cache('entries', { ttl: '1h' })
    const sweeper = kit.context.tags().sweeper!
    const ping = new Redis(url)
    const { BentoCache, bentostore } = await importPeer<{
      BentoCache: new (config: unknown) => BentoLike
      bentostore: () => { useL2Layer(driver: unknown): unknown }
    }>('bentocache')
    const { redisDriver } = await importPeer<{ redisDriver: (options: unknown) => unknown }>(
      'bentocache/drivers/redis',
    )
    const bento = new BentoCache({
      default: 'redis',
      prefix: `${keyPrefix}bento`,
      stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { url } })) },
    })

    let tagSerial = 0
    const populateRedkit = async (size: number): Promise<string> => {
      const tag = `t${++tagSerial}`
      for (let start = 0; start < size; start += WRITE_BATCH) {
        const count = Math.min(WRITE_BATCH, size - start)
        await entries.setMany(
          Array.from({ length: count }, (_, j) => ({ key: [tag, start + j], value: start + j, tags: [tag] })),
        )
      }
      return tag
    }
    const populateBento = async (size: number): Promise<string> => {
      const tag = `b${++tagSerial}`
      for (let start = 0; start < size; start += WRITE_BATCH) {
        const count = Math.min(WRITE_BATCH, size - start)
        await Promise.all(
          Array.from({ length: count }, (_, j) =>
            bento.set({ key: `${tag}:${start + j}`, value: start + j, ttl: '1h', tags: [tag] }),
          ),
        )
      }
      return tag
    }
    const timeOnce = async (fn: () => Promise<unknown>): Promise<number> => {
      const started = performance.now()
      await fn()
      return performance.now() - started
    }

    const invalidation = (size: number, label: string): MeasuredCase => ({
      name: `invalidateTags ${label}`,
      baselineName: 'bentocache deleteByTag',
      async measure({ quick }) {
        const repetitions = size <= 10_000 ? (quick ? 3 : 5) : 1
        // Warm-up: the first call of a script loads it into Redis (NOSCRIPT, then EVAL).
        await kit.invalidateTags(['warm-up'])
        await bento.deleteByTag({ tags: ['warm-up'] })
        const ours: number[] = []
        const theirs: number[] = []
        for (let r = 0; r < repetitions; r++) {
          const tag = await populateRedkit(size)
          await sweeper.idle()
          ours.push(await timeOnce(() => kit.invalidateTags([tag])))
          await sweeper.idle()
          const bentoTag = await populateBento(size)
          theirs.push(await timeOnce(() => bento.deleteByTag({ tags: [bentoTag] })))
        }
        const oursMs = median(ours)
        const theirsMs = median(theirs)
        process.stderr.write(
          `  invalidation ${label}: redkit ${oursMs.toFixed(2)} ms, bentocache ${theirsMs.toFixed(2)} ms\n`,
        )
        return { opsPerSec: 1000 / oursMs, baselineOpsPerSec: 1000 / theirsMs }
      },
    })

    // L2 hits on 1,000 keys, with two tags each and without.
    const plain = kit.cache('plain', { ttl: '1h' })
    const tagged = kit.cache('tagged', { ttl: '1h' })
    const hitTags = ['company:1:orders', 'catalog']
    for (let start = 0; start < HIT_KEYS; start += 500) {
      const batch = Array.from({ length: 500 }, (_, j) => ({
        key: ['k', start + j],
        value: { id: start + j, name: 'x'.repeat(40) },
      }))
      await plain.setMany(batch)
      await tagged.setMany(batch.map((entry) => ({ ...entry, tags: hitTags })))
    }
    let next = 0
    const nextKey = () => {
      next = (next + 1) % HIT_KEYS
      return ['k', next]
    }
    const unexpected = () => {
      throw new Error('a warm key missed')
    }
    const hit: BenchCase = {
      name: 'tagged L2 hit c=100',
      concurrency: 100,
      subject: () => tagged.getOrSet(nextKey(), unexpected, { tags: hitTags }),
      baselines: [
        { name: 'untagged L2 hit', operation: () => plain.getOrSet(nextKey(), unexpected), target: 0.9 },
      ],
    }

    const sweep: MeasuredCase = {
      name: 'sweeper keys/s',
      baselineName: 'target 100k keys/s',
      target: 1,
      async measure({ quick }) {
        const size = quick ? 100_000 : 1_000_000
        const tag = await populateRedkit(size)
        await sweeper.idle()
        const latencies: number[] = []
        let pinging = true
        const pinger = (async () => {
          while (pinging) {
            const started = performance.now()
            await ping.ping()
            latencies.push(performance.now() - started)
            await new Promise((resolve) => setTimeout(resolve, 1))
          }
        })()
        const deletedBefore = sweeper.metrics.deleted
        const started = performance.now()
        await kit.invalidateTags([tag])
        await sweeper.idle()
        const seconds = (performance.now() - started) / 1000
        pinging = false
        await pinger
        const swept = sweeper.metrics.deleted - deletedBefore
        latencies.sort((a, b) => a - b)
        const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0
        process.stderr.write(
          `  sweeper: ${swept} entries in ${seconds.toFixed(2)} s; PING p50 ${median(latencies).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms meanwhile\n`,
        )
        return { opsPerSec: swept / seconds, baselineOpsPerSec: 100_000 }
      },
    }

    return {
      cases: [
        invalidation(1_000, '1k entries'),
        invalidation(10_000, '10k entries'),
        invalidation(100_000, '100k entries'),
        hit,
        sweep,
        // Last: a 1M-entry tag takes a while to write, for both libraries.
        invalidation(1_000_000, '1M entries'),
      ],
      async teardown() {
        try {
          await deleteKeys(ping, `${keyPrefix}*`)
        } finally {
          await kit.close()
          await bento.disconnect().catch(() => {})
          ping.disconnect()
        }
      },
    }
  },
}
