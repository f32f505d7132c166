// Logins with sessions (per-user index: the device list and "log out everywhere"), a JWT API with
// revocation, the user's profile and permissions in the `userContext` tier, and rate-limited payments.

import { randomUUID, timingSafeEqual } from 'node:crypto'
import { type NextFunction, type Request, type Response, Router } from 'express'
import { jwtVerify, SignJWT } from 'jose'
import type { Redkit, SessionStore } from '../../../src/index.js'
import type { Database } from '../database.js'
import { BadRequest, type DemoCaching, handle } from './shared.js'

/** Every demo user's password. */
export const DEMO_PASSWORD = 'demo'

declare module 'express-session' {
  interface SessionData {
    userId?: string
    companyId?: number
    ip?: string
    userAgent?: string
  }
}

interface User {
  id: number
  company_id: number
  email: string
  name: string
  role: string
}

export interface AuthOptions {
  /** HMAC key of the demo's JWTs. */
  jwtSecret: Uint8Array
}

export function authRoutes(
  kit: Redkit,
  db: Database,
  caching: DemoCaching,
  sessions: SessionStore,
  options: AuthOptions,
): { auth: Router; api: Router } {
  const revocations = kit.revocations()
  const userContext = kit.cache('user-context', { tier: 'userContext', enabled: caching.enabled })
  const profile = (userId: number) =>
    userContext.getOrSet(['user', userId], async () => {
      const [user] = await db.query<User>('select * from demo.users where id = $1', [userId])
      if (!user) return undefined
      const permissions =
        user.role === 'admin' ? ['orders:read', 'orders:write', 'products:write'] : ['orders:read']
      return { ...user, permissions }
    })

  const auth = Router()
  auth.post(
    '/login',
    handle(async (req, res) => {
      const { email, password } = (req.body ?? {}) as { email?: unknown; password?: unknown }
      if (typeof email !== 'string' || typeof password !== 'string')
        throw new BadRequest('email and password are required')
      const [user] = await db.query<User>('select * from demo.users where email = $1', [email])
      const given = Buffer.from(password)
      const expected = Buffer.from(DEMO_PASSWORD)
      if (!user || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return void res.status(401).json({ error: 'wrong email or password' })
      }
      await new Promise<void>((resolve, reject) =>
        req.session.regenerate((error) => (error ? reject(error) : resolve())),
      )
      req.session.userId = String(user.id)
      req.session.companyId = user.company_id
      req.session.ip = req.ip ?? ''
      req.session.userAgent = req.get('user-agent') ?? ''
      res.json({ userId: user.id, companyId: user.company_id })
    }),
  )
  auth.post(
    '/logout',
    handle(async (req, res) => {
      await new Promise<void>((resolve, reject) =>
        req.session.destroy((error) => (error ? reject(error) : resolve())),
      )
      res.json({ loggedOut: true })
    }),
  )
  auth.post(
    '/logout-everywhere',
    requireSession,
    handle(async (req, res) => {
      const userId = req.session.userId!
      // Sessions on every device, and every JWT issued before now.
      const ended = await sessions.destroyByUserId(userId)
      // JWT times are whole seconds: a cut-off one second ahead also covers tokens issued this second.
      // New tokens need a session, and every session has just ended.
      await revocations.revokeUser(userId, new Date(Date.now() + 1000))
      res.json({ endedSessions: ended })
    }),
  )
  auth.get(
    '/devices',
    requireSession,
    handle(async (req, res) => {
      res.json(await sessions.listByUserId(req.session.userId!, { current: req.sessionID }))
    }),
  )
  auth.post(
    '/token',
    requireSession,
    handle(async (req, res) => {
      const jti = randomUUID()
      const token = await new SignJWT({ companyId: req.session.companyId })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(String(req.session.userId))
        .setJti(jti)
        .setIssuedAt()
        .setExpirationTime('15m')
        .sign(options.jwtSecret)
      res.json({ token, jti, expiresIn: 900 })
    }),
  )
  auth.post(
    '/token/revoke',
    handle(async (req, res) => {
      const claims = await bearer(req, options.jwtSecret)
      if (!claims) return void res.status(401).json({ error: 'a valid bearer token is required' })
      await revocations.revoke(claims.jti!, claims.exp!)
      res.json({ revoked: claims.jti })
    }),
  )

  const api = Router()
  // The JWT API: verified, then checked against the revocation list (a token and its user's cut-off).
  api.get(
    '/me',
    handle(async (req, res) => {
      const claims = await bearer(req, options.jwtSecret)
      if (!claims) return void res.status(401).json({ error: 'a valid bearer token is required' })
      if (await revocations.isRevoked(claims)) return void res.status(401).json({ error: 'token revoked' })
      const user = await profile(Number(claims.sub))
      if (!user) return void res.status(404).json({ error: 'no such user' })
      res.json(user)
    }),
  )
  api.post(
    '/payments',
    requireSession,
    handle(async (req, res) => {
      const amount = Number((req.body as { amountCents?: unknown }).amountCents)
      if (!Number.isSafeInteger(amount) || amount <= 0)
        throw new BadRequest('amountCents must be a positive whole number')
      res
        .status(201)
        .json({ paymentId: randomUUID(), amountCents: amount, userId: Number(req.session.userId) })
    }),
  )
  return { auth, api }
}

function requireSession(req: Request, res: Response, next: NextFunction): void {
  if (req.session?.userId === undefined) {
    res.status(401).json({ error: 'log in first: POST /auth/login' })
    return
  }
  next()
}

async function bearer(req: Request, secret: Uint8Array) {
  const header = req.get('authorization')
  if (!header?.startsWith('Bearer ')) return undefined
  try {
    const { payload } = await jwtVerify(header.slice(7), secret, { algorithms: ['HS256'] })
    return payload.jti && payload.exp && payload.sub ? payload : undefined
  } catch {
    return undefined
  }
}
