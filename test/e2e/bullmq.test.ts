// BullMQ on redkit's queue connection: a real Queue and Worker process a job, and the eviction
// policy warning fires on an instance that could evict queue keys.

import { Queue, Worker } from 'bullmq'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit, InvalidOptionsError, type Logger } from '../../src/index.js'
import { leaks, renderings, startRedis, stopAllServers, waitFor } from '../harness/index.js'

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

describe('queueConnection when Redis is down', () => {
  it('a worker created while Redis is down processes every job once Redis starts', async () => {
    const server = await startRedis()
    await server.kill9()
    const kit = createRedkit({ url: server.url, app: 'late' })
    const connection = kit.queueConnection()
    const queue = new Queue('late', { connection })
    queue.on('error', () => {})
    const processed: unknown[] = []
    const worker = new Worker(
      'late',
      async (job) => {
        processed.push(job.data.n)
      },
      { connection },
    )
    worker.on('error', () => {})
    const added = Promise.all([1, 2, 3].map((n) => queue.add('job', { n })))
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await server.restart()
    const jobs = await added
    try {
      await waitFor(async () => (await Promise.all(jobs.map((job) => job.isCompleted()))).every(Boolean), {
        timeoutMs: 20_000,
        message: `jobs not all completed (processed ${processed.join(',')})`,
      })
      expect([...processed].sort()).toEqual([1, 2, 3])
    } finally {
      await worker.close()
      await queue.close()
      await kit.close()
      await server.stop()
    }
  })

  it('a fail-fast producer connection rejects queue.add at once while Redis is down', async () => {
    const server = await startRedis()
    const kit = createRedkit({ url: server.url, app: 'ff' })
    const queue = new Queue('ff', {
      connection: kit.queueConnection({ failFast: true }),
      skipWaitingForReady: true,
    })
    queue.on('error', () => {})
    try {
      await queue.waitUntilReady()
      await queue.add('ok', { n: 1 })
      await server.kill9()
      const started = performance.now()
      await expect(queue.add('down', { n: 2 })).rejects.toThrow()
      expect(performance.now() - started).toBeLessThan(1000)
      await server.restart()
      await waitFor(
        async () =>
          await queue.add('back', { n: 3 }).then(
            () => true,
            () => false,
          ),
        {
          timeoutMs: 10_000,
          message: 'the producer never reconnected',
        },
      )
    } finally {
      await queue.close()
      await kit.close()
      await server.stop()
    }
  })
})

describe('queueConnection with a wrong password', () => {
  it('reports the failure without the password in any error BullMQ emits', async () => {
    const server = await startRedis({ password: 'right-one' })
    const secret = 'bull-Wrong-pw-41'
    const kit = createRedkit({ url: `redis://:${secret}@127.0.0.1:${server.port}`, app: 'bullauth' })
    const queue = new Queue('auth', { connection: kit.queueConnection() })
    const seen: unknown[] = []
    queue.on('error', (error) => seen.push(error))
    try {
      await waitFor(() => seen.length > 0, { message: 'BullMQ reported no error' })
      expect(leaks(seen.flatMap(renderings), secret)).toEqual([])
    } finally {
      // BullMQ's close waits for a connection that never became ready; the kit's close drops it.
      void queue.close().catch(() => {})
      await kit.close()
      await server.stop()
    }
  })
})
