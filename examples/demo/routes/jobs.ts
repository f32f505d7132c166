// A BullMQ job on the kit's queue connection: a company revenue report computed in the background.
// Needs a real Redis; on the embedded store the route says so instead of pretending.

import { Queue, Worker } from 'bullmq'
import { Router } from 'express'
import type { Redkit } from '../../../src/index.js'
import type { Database } from '../database.js'
import { type DemoAccess, handle, intParam } from './shared.js'

export function jobRoutes(
  kit: Redkit,
  db: Database,
  access: DemoAccess,
): { router: Router; close(): Promise<void> } {
  const router = Router()
  if (kit.mode === 'memory') {
    const unavailable = (_req: unknown, res: { status(code: number): { json(body: unknown): void } }) => {
      res.status(503).json({ error: 'background jobs need Redis: start the demo with REDIS_URL set' })
    }
    router.post('/companies/:companyId/reports', access.can('orders:read'), unavailable)
    router.get('/reports/:jobId', access.signedIn, unavailable)
    return { router, close: async () => {} }
  }
  const connection = kit.queueConnection()
  const queue = new Queue('reports', { connection, prefix: `${kit.prefix}bull` })
  const worker = new Worker(
    'reports',
    async (job) => {
      const companyId = Number(job.data.companyId)
      const [row] = await db.query<{ orders: number; revenue_cents: string }>(
        'select count(*)::int as orders, coalesce(sum(total_cents), 0)::bigint::text as revenue_cents from demo.orders where company_id = $1',
        [companyId],
      )
      return { companyId, ...row, computedAt: new Date().toISOString() }
    },
    { connection, prefix: `${kit.prefix}bull` },
  )
  router.post(
    '/companies/:companyId/reports',
    access.can('orders:read'),
    handle(async (req, res) => {
      const job = await queue.add(
        'revenue',
        { companyId: intParam(req, 'companyId') },
        { removeOnComplete: 1000 },
      )
      res.status(202).json({ jobId: job.id, status: `/api/reports/${job.id}` })
    }),
  )
  router.get(
    '/reports/:jobId',
    access.signedIn,
    handle(async (req, res) => {
      const job = await queue.getJob(String(req.params.jobId))
      if (!job) return void res.status(404).json({ error: 'no such job' })
      res.json({ jobId: job.id, state: await job.getState(), result: job.returnvalue ?? null })
    }),
  )
  return {
    router,
    close: async () => {
      await worker.close()
      await queue.close()
    },
  }
}
