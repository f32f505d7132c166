// Logins with sessions (per-user index: the device list and "log out everywhere"), a JWT API with
// revocation, the user's profile and permissions in the `userContext` tier (read by every company route to
// authorize its caller), and rate-limited payments.

import { randomUUID, timingSafeEqual } from 'node:crypto'
import { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express'
import { jwtVerify, SignJWT } from 'jose'
import type { Redkit, SessionStore } from '../../../src/index.js'
import type { Database } from '../database.js'
import { BadRequest, type DemoAccess, type DemoCaching, handle, intParam } from './shared.js'

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

/** A user and what their role may do: what the `userContext` tier holds for every request. */
export interface UserContext extends User {
  permissions: string[]
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
): { auth: Router; api: Router; access: DemoAccess } {
  const revocations = kit.revocations()
  const userContext = kit.cache('user-context', { tier: 'userContext', enabled: caching.enabled })
  // What every company route needs to know about its caller: who they are and what their role may do.
  const profile = (userId: number) =>
    userContext.getOrSet(['user', userId], async (): Promise<UserContext | undefined> => {
      const [user] = await db.query<User>('select * from demo.users where id = $1', [userId])
      if (!user) return undefined
      const rows = await db.query<{ permission: string }>(
        'select permission from demo.permissions where role = $1 order by permission',
        [user.role],
      )
      return { ...user, permissions: rows.map((row) => row.permission) }
    })
  // The caller of a request: its session, else a bearer JWT that is not revoked.
  const caller = async (req: Request): Promise<number | undefined> => {
    if (req.session?.userId !== undefined) return Number(req.session.userId)
    const claims = await bearer(req, options.jwtSecret)
    if (!claims || (await revocations.isRevoked(claims))) return undefined
    return Number(claims.sub)
  }
  const guard = (check: (user: UserContext, req: Request) => string | undefined): RequestHandler => {
    const decide = async (req: Request) => {
      const userId = await caller(req)
      const user = userId === undefined ? undefined : await profile(userId)
      if (!user) return { status: 401, error: 'log in first: POST /auth/login' }
      const refused = check(user, req)
      return refused ? { status: 403, error: refused } : { user }
    }
    return (req, res, next) => {
      decide(req).then((decision) => {
        if ('user' in decision) {
          res.locals.user = decision.user
          next()
        } else res.status(decision.status).json({ error: decision.error })
      }, next)
    }
  }
  const access: DemoAccess = {
    signedIn: guard(() => undefined),
    can: (permission) =>
      guard((user, req) => {
        if (user.company_id !== intParam(req, 'companyId')) return 'not a member of this company'
        return user.permissions.includes(permission) ? undefined : `your role may not ${permission}`
      }),
  }

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
  return { auth, api, access }
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
