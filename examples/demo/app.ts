// The demo app, built from a kit and a database so the server, the smoke test and the benchmark run the
// same code: catalog, orders and analytics per company, logins and JWTs, rate limits, jobs, health.

import express, { type NextFunction, type Request, type Response } from 'express'
import session from 'express-session'
import type { Redkit } from '../../src/index.js'
import {
  cacheTiersRoute,
  dashboardRoutes,
  healthRoutes,
  metricsRoutes,
  rateLimit,
} from '../../src/integrations/express/index.js'
import type { Database } from './database.js'
import { authRoutes } from './routes/auth.js'
import { catalogRoutes } from './routes/catalog.js'
import { jobRoutes } from './routes/jobs.js'
import { orderRoutes } from './routes/orders.js'
import type { DemoCaching } from './routes/shared.js'

export interface DemoOptions {
  kit: Redkit
  db: Database
  /**
   * Whether the caches are on; the benchmark runs the same app with them off.
   * @default () => true
   */
  caching?: () => boolean
  /**
   * Requests per minute per client on /api (the `api` tier allows 100); the benchmark raises it.
   * @default 100
   */
  apiLimit?: number
  /**
   * Login attempts per minute per client on /auth/login (the `auth` tier allows 10); the benchmark,
   * which logs in every company's admin from one address, raises it.
   * @default 10
   */
  loginLimit?: number
  /** Secrets of cookies, session ids at rest and JWTs. @default fixed demo values (never in production) */
  secrets?: { cookie: string; sessionIds: string; jwt: string }
  /**
   * Whether /dashboard is mounted (it times every cache read while mounted; a benchmark may leave it out).
   * @default true
   */
  dashboard?: boolean
}

const DEMO_SECRETS = {
  cookie: 'demo-cookie-secret-change-me',
  sessionIds: 'demo-session-id-secret-32-bytes-long!',
  jwt: 'demo-jwt-secret-32-bytes-long-change-me',
}

export interface DemoApp {
  app: express.Express
  /** Loads reference data into the caches (the server calls it at start). */
  warm(): Promise<void>
  close(): Promise<void>
}

export function createDemoApp(options: DemoOptions): DemoApp {
  const { kit, db } = options
  const secrets = options.secrets ?? DEMO_SECRETS
  const caching: DemoCaching = { enabled: options.caching ?? (() => true), warmers: [] }
  const sessions = kit.sessions({
    secret: secrets.sessionIds,
    ttl: '1d',
    metadataOf: (s) => ({ ip: s.ip, userAgent: s.userAgent }),
  })
  const app = express()
  app.set('trust proxy', 'loopback')
  app.use(express.json())
  app.use(
    session({
      secret: secrets.cookie,
      resave: false,
      saveUninitialized: false,
      store: sessions,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  )

  const api = kit.limiter('api', { tier: 'api', limit: options.apiLimit ?? 100 })
  const login = kit.limiter('auth', {
    tier: 'auth',
    ...(options.loginLimit === undefined ? {} : { limit: options.loginLimit }),
  })
  const payments = kit.limiter('payments', { tier: 'payment' })
  app.use('/api', rateLimit(api))
  app.use('/auth/login', rateLimit(login))
  app.use('/api/payments', rateLimit(payments, { keyBy: 'user', userId: (req) => req.session?.userId }))

  const {
    auth,
    api: tokenApi,
    access,
  } = authRoutes(kit, db, caching, sessions, {
    jwtSecret: new TextEncoder().encode(secrets.jwt),
  })
  const jobs = jobRoutes(kit, db, access)
  app.use('/auth', auth)
  app.use(
    '/api',
    catalogRoutes(kit, db, caching, access),
    orderRoutes(kit, db, caching, access),
    tokenApi,
    jobs.router,
  )

  // Load balancer probes: /health/live, /health/ready (503 while Redis or the database is away),
  // /health/redis and /health/cache; counters per cache and limiter as JSON, the tiers for front ends.
  app.use(healthRoutes(kit, { checks: { database: () => db.query('select 1').then(() => true) } }))
  app.use(metricsRoutes(kit, { sample: true }))
  app.get('/api/cache-tiers', cacheTiersRoute())
  app.get('/metrics/database', (_req, res) => {
    res.json({ queries: db.queries })
  })
  // Open here because the demo never runs with NODE_ENV=production; a real app passes `authorize`.
  if (options.dashboard !== false) app.use('/dashboard', dashboardRoutes(kit))
  app.get('/', (_req, res) => {
    res.json({
      app: 'redkit demo',
      store: kit.mode,
      database: db.describe,
      // Company routes need a login: user N is the admin of company N (user 107 is a member of company 7).
      login: 'POST /auth/login {"email":"user7@demo.test","password":"demo"}, then send its cookie',
      try: {
        reference: ['GET /api/zones', 'GET /api/zones/3/rate-cards'],
        detail: [
          'GET /api/companies/7/products/107',
          'PATCH /api/companies/7/products/107 {"price_cents":999}',
        ],
        lists: [
          'GET /api/companies/7/orders?page=1&status=paid',
          'POST /api/companies/7/orders {"productId":107}',
        ],
        analytics: ['GET /api/vendors/12/analytics'],
        sessions: [
          'POST /auth/login {"email":"user7@demo.test","password":"demo"}',
          'GET /auth/devices',
          'POST /auth/logout-everywhere',
        ],
        jwt: ['POST /auth/token', 'GET /api/me (Authorization: Bearer <token>)', 'POST /auth/token/revoke'],
        limits: ['POST /api/payments {"amountCents":500} (5 a minute per user)'],
        jobs: ['POST /api/companies/7/reports', 'GET /api/reports/<jobId>'],
        operations: [
          'GET /health/live',
          'GET /health/ready',
          'GET /health/redis',
          'GET /health/cache',
          'GET /metrics/redkit',
          'GET /metrics/database',
          'GET /api/cache-tiers',
          'GET /dashboard/ (live dashboard, open in a browser)',
        ],
      },
    })
  })
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: number }).status
    if (status === 400) return void res.status(400).json({ error: (error as Error).message })
    console.error('demo: request failed:', (error as Error).message)
    res.status(500).json({ error: 'internal error' })
  })

  return {
    app,
    warm: async () => {
      for (const warm of caching.warmers) await warm()
    },
    close: () => jobs.close(),
  }
}
