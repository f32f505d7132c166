// BullMQ on the kit's queue connection through a Redis restart (kill -9, the data kept by an fsync'd
// append-only file): every job added is completed, and none twice beyond BullMQ's at-least-once
// guarantee for the jobs that were active when the server died.

import { Queue, Worker } from 'bullmq'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit } from '../../src/index.js'
import { startRedis, stopAllServers, waitFor } from '../harness/index.js'

afterAll(() => stopAllServers())

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('BullMQ through a Redis restart', () => {
  it('completes every job added before and after the restart', async () => {
    const server = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
    const kit = createRedkit({ url: server.url, app: 'jobs', environment: {} })
    const connection = kit.queueConnection()
    const producer = kit.queueConnection({ failFast: true })
    const queue = new Queue('restart', { connection: producer })
    const runs = new Map<string, number>()
    const worker = new Worker(
      'restart',
      async (job) => {
        await pause(5)
        runs.set(job.id!, (runs.get(job.id!) ?? 0) + 1)
        return { n: job.data.n }
      },
      // A job whose worker lost its lock is taken up again after a second, not the default 30 s.
      { connection, concurrency: 4, stalledInterval: 1000, lockDuration: 2000 },
    )
    worker.on('error', () => {})
    queue.on('error', () => {})

    const added: string[] = []
    const add = async (n: number) => {
      // A producer that fails fast: while Redis is down, retry the add until it is back.
      for (;;) {
        try {
          // Retries, as an app that must not lose a job sets them: a job whose completion the kill cut
          // off is failed by BullMQ (its lock is gone) and runs again.
          const job = await queue.add('job', { n }, { jobId: `job-${n}`, attempts: 3 })
          added.push(job.id!)
          return
        } catch {
          await pause(50)
        }
      }
    }
    for (let n = 0; n < 100; n++) await add(n)
    await waitFor(() => runs.size >= 30, { timeoutMs: 10_000, message: 'worker did not start' })

    await server.kill9()
    await pause(500)
    await server.restart()
    for (let n = 100; n < 200; n++) await add(n)

    let counts: Record<string, number> = {}
    await waitFor(
      async () => {
        counts = await queue.getJobCounts('completed', 'active', 'wait', 'delayed', 'failed')
        return counts.completed === 200
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'not every job completed' },
    ).catch(async (error: Error) => {
      const failed = await queue.getFailed()
      const reasons = failed.map((job) => job.failedReason).join('; ')
      throw new Error(`${error.message}: ${JSON.stringify(counts)}, ${runs.size} ran; failed: ${reasons}`)
    })
    expect(added).toHaveLength(200)
    expect(new Set(added).size).toBe(200)
    for (const id of added) expect(runs.get(id) ?? 0, id).toBeGreaterThanOrEqual(1)
    // A second run only for jobs the kill caught running or completing (at-least-once): at most the
    // worker's concurrency twice over, and never a third.
    const again = [...runs].filter(([, count]) => count > 1)
    expect(again.length).toBeLessThanOrEqual(8)
    expect(again.filter(([, count]) => count > 2)).toEqual([])

    await worker.close()
    await queue.close()
    await kit.close()
  }, 90_000)
})
