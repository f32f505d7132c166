// BullMQ on redkit's queue connection: a real Queue and Worker process a job, and the eviction
// policy warning fires on an instance that could evict queue keys.

import { Queue, Worker } from 'bullmq'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit, InvalidOptionsError, type Logger } from '../../src/index.js'
import { startRedis, stopAllServers, waitFor } from '../harness/index.js'

afterAll(() => stopAllServers())

function warnings(): Logger & { lines: string[] } {
  const lines: string[] = []
  const noop = () => {}
  return { lines, debug: noop, info: noop, error: noop, warn: (_f, m) => lines.push(m) }
}

describe('queueConnection', () => {
  it('runs a real BullMQ queue and worker', async () => {
    const server = await startRedis()
    const logger = warnings()
    const kit = createRedkit({ url: server.url, app: 'jobs', logger })
    const connection = kit.queueConnection()
    expect(kit.queueConnection()).toBe(connection)
    const queue = new Queue('mail', { connection })
    const processed: unknown[] = []
    const worker = new Worker(
      'mail',
      async (job) => {
        processed.push(job.data)
        return { sent: true }
      },
      { connection },
    )
    const job = await queue.add('welcome', { to: 'a@example.com' })
    await waitFor(async () => (await job.isCompleted()) === true, {
      timeoutMs: 10_000,
      message: 'job not completed',
    })
    expect(processed).toEqual([{ to: 'a@example.com' }])
    expect((await queue.getJob(job.id!))?.returnvalue).toEqual({ sent: true })
    expect(logger.lines).toEqual([])
    expect(await server.cli('CLIENT', 'LIST')).toContain('name=jobs:queue')
    await worker.close()
    await queue.close()
    await kit.close()
    await server.stop()
  })

  it('warns when maxmemory-policy is not noeviction', async () => {
    const server = await startRedis({ args: ['--maxmemory', '50mb', '--maxmemory-policy', 'allkeys-lru'] })
    const logger = warnings()
    const kit = createRedkit({ url: server.url, app: 'jobs2', logger })
    kit.queueConnection()
    await waitFor(() => logger.lines.some((line) => line.includes("'allkeys-lru'")), {
      message: 'no eviction-policy warning',
    })
    await kit.close()
    await server.stop()
  })

  it('refuses in memory mode with a clear error', () => {
    const kit = createRedkit({ url: 'memory' })
    expect(() => kit.queueConnection()).toThrow(InvalidOptionsError)
    expect(() => kit.queueConnection()).toThrow(/REDIS_URL/)
  })
})
