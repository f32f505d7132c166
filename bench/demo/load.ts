// The load the end-to-end benchmark puts on the demo: Zipf-distributed reads of products and order lists,
// 5% writes each followed by a read that checks the write is visible, analytics every second, sessions.

import { Agent, request } from 'node:http'

/** Route classes the report is broken down by. */
export type RouteClass = 'detail' | 'list' | 'reference' | 'userContext' | 'session' | 'analytics' | 'write'

/** Draws ranks 1..n with probability proportional to 1/rank^s (s = 1: a few hot items, a long tail). */
export class Zipf {
  readonly #cdf: Float64Array
  constructor(n: number, s = 1) {
    this.#cdf = new Float64Array(n)
    let total = 0
    for (let i = 0; i < n; i++) {
      total += 1 / (i + 1) ** s
      this.#cdf[i] = total
    }
    for (let i = 0; i < n; i++) this.#cdf[i]! /= total
  }
  /** A rank from 1 to n. */
  next(): number {
    const u = Math.random()
    let low = 0
    let high = this.#cdf.length - 1
    while (low < high) {
      const mid = (low + high) >> 1
      if (this.#cdf[mid]! < u) low = mid + 1
      else high = mid
    }
    return low + 1
  }
}

export interface HttpAnswer {
  status: number
  body: string
  setCookie: string | undefined
}

/** A keep-alive HTTP client for one host: the load generator's only way to talk to the demo. */
export class HttpClient {
  readonly #agent: Agent
  constructor(
    readonly port: number,
    sockets: number,
  ) {
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets })
  }

  call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.#agent,
          headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              setCookie: res.headers['set-cookie']?.[0]?.split(';')[0],
            }),
          )
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  }

  close(): void {
    this.#agent.destroy()
  }
}

/** A logged-in user the load acts as: its session cookie and a JWT. */
export interface LoadUser {
  userId: number
  companyId: number
  cookie: string
  token: string
}

/** What one phase of load measured. */
export interface PhaseResult {
  durationMs: number
  requests: number
  errors: number
  /** Reads right after a write that did not show it. */
  staleReads: number
  /** Read-after-write checks made. */
  checks: number
  latencies: Record<RouteClass, number[]>
}

const COMPANIES = 100
const PRODUCTS_PER_COMPANY = 100
const PAGES = 10
const STATUSES = [undefined, 'pending', 'paid', 'shipped', 'delivered', 'cancelled'] as const

/**
 * Logs in users 1 to `count`, each with a session and a JWT: user N is the admin of company N, so the
 * load acts on each company as its own user (the demo's company routes refuse anyone else).
 */
export async function logIn(client: HttpClient, count: number): Promise<LoadUser[]> {
  const users: LoadUser[] = []
  for (let i = 1; i <= count; i++) {
    const login = await client.call('POST', '/auth/login', { email: `user${i}@demo.test`, password: 'demo' })
    if (login.status !== 200 || !login.setCookie)
      throw new Error(`login failed: ${login.status} ${login.body}`)
    const { companyId } = JSON.parse(login.body) as { companyId: number }
    const token = await client.call('POST', '/auth/token', undefined, { cookie: login.setCookie })
    users.push({
      userId: i,
      companyId,
      cookie: login.setCookie,
      token: (JSON.parse(token.body) as { token: string }).token,
    })
  }
  return users
}

/** How a phase drives the demo: closed loop (as fast as it answers) or at a fixed rate. */
export type LoadShape = { concurrency: number } | { rate: number }

/**
 * Runs the mix for `durationMs`, acting on each company as its admin (`users[c - 1]` for company c), plus
 * the analytics dashboards of the first `dashboards` users, each polled every second. Closed loop
 * (`concurrency` workers, each sending its next request when the last one answered) measures throughput;
 * a fixed `rate` measures latency without queueing: requests leave on schedule whether or not earlier
 * ones answered, and latency counts from the scheduled time, so a stall is not hidden.
 */
export async function runPhase(
  client: HttpClient,
  users: readonly LoadUser[],
  options: { durationMs: number; dashboards: number } & LoadShape,
): Promise<PhaseResult> {
  if (users.length < COMPANIES) throw new Error(`the load needs one user per company (${COMPANIES})`)
  const companies = new Zipf(COMPANIES)
  const products = new Zipf(PRODUCTS_PER_COMPANY)
  const pages = new Zipf(PAGES, 1.5)
  const statuses = new Zipf(STATUSES.length)
  const zones = new Zipf(40)
  const result: PhaseResult = {
    durationMs: options.durationMs,
    requests: 0,
    errors: 0,
    staleReads: 0,
    checks: 0,
    latencies: {
      detail: [],
      list: [],
      reference: [],
      userContext: [],
      session: [],
      analytics: [],
      write: [],
    },
  }
  const deadline = performance.now() + options.durationMs
  const timed = async (
    kind: RouteClass,
    method: string,
    path: string,
    user: LoadUser,
    body?: unknown,
    bearer = false,
    since = performance.now(),
    label: string = kind,
  ) => {
    // The label tells the server which kind of request its database queries are for.
    const headers: Record<string, string> = bearer
      ? { authorization: `Bearer ${user.token}`, 'x-bench-class': label }
      : { cookie: user.cookie, 'x-bench-class': label }
    const answer = await client.call(method, path, body, headers)
    result.latencies[kind].push(performance.now() - since)
    result.requests++
    if (answer.status >= 400) result.errors++
    return answer
  }
  // Product ids of company c are c, c + 100, c + 200... (the seed deals them out round robin).
  const productOf = (company: number) => company + (products.next() - 1) * COMPANIES
  // A write and the read that checks it hold their entity: another worker's write in between would make
  // the check see a newer value and count it as stale.
  const writing = new Set<string>()

  const action = async (since: number) => {
    const dice = Math.random() * 100
    const company = companies.next()
    const user = users[company - 1]!
    if (dice < 40) {
      await timed(
        'detail',
        'GET',
        `/api/companies/${company}/products/${productOf(company)}`,
        user,
        undefined,
        false,
        since,
      )
    } else if (dice < 70) {
      const status = STATUSES[statuses.next() - 1]
      const query = status === undefined ? `page=${pages.next()}` : `page=${pages.next()}&status=${status}`
      await timed('list', 'GET', `/api/companies/${company}/orders?${query}`, user, undefined, false, since)
    } else if (dice < 80) {
      const path = Math.random() < 0.3 ? '/api/zones' : `/api/zones/${zones.next()}/rate-cards`
      await timed('reference', 'GET', path, user, undefined, false, since)
    } else if (dice < 85) {
      await timed('userContext', 'GET', '/api/me', user, undefined, true, since)
    } else if (dice < 95) {
      await timed('session', 'GET', '/auth/devices', user, undefined, false, since)
    } else if (dice < 97.5) {
      // A price change, then a read of the product: it must show the new price.
      const product = productOf(company)
      const entity = `product:${product}`
      if (writing.has(entity)) return
      writing.add(entity)
      try {
        const price = 100 + Math.floor(Math.random() * 100_000)
        const path = `/api/companies/${company}/products/${product}`
        await timed('write', 'PATCH', path, user, { price_cents: price }, false, since)
        const read = await timed('detail', 'GET', path, user, undefined, false, performance.now(), 'check')
        result.checks++
        if ((JSON.parse(read.body) as { price_cents?: number }).price_cents !== price) result.staleReads++
      } finally {
        writing.delete(entity)
      }
    } else {
      // A new order, then the company's first page: it must be at the top.
      const entity = `orders:${company}`
      if (writing.has(entity)) return
      writing.add(entity)
      try {
        const created = await timed(
          'write',
          'POST',
          `/api/companies/${company}/orders`,
          user,
          { productId: productOf(company), quantity: 1 },
          false,
          since,
        )
        const id = (JSON.parse(created.body) as { id?: number }).id
        const page = `/api/companies/${company}/orders?page=1`
        const list = await timed('list', 'GET', page, user, undefined, false, performance.now(), 'check')
        result.checks++
        if ((JSON.parse(list.body) as { orders?: { id: number }[] }).orders?.[0]?.id !== id)
          result.staleReads++
      } finally {
        writing.delete(entity)
      }
    }
  }

  const load: Promise<void>[] = []
  if ('concurrency' in options) {
    for (let i = 0; i < options.concurrency; i++) {
      load.push(
        (async () => {
          while (performance.now() < deadline) await action(performance.now())
        })(),
      )
    }
  } else {
    const interval = 1000 / options.rate
    load.push(
      (async () => {
        const inFlight = new Set<Promise<void>>()
        const started = performance.now()
        for (let n = 0; ; n++) {
          const due = started + n * interval
          if (due >= deadline) break
          const wait = due - performance.now()
          if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
          const sent = action(due).finally(() => inFlight.delete(sent))
          inFlight.add(sent)
        }
        await Promise.all(inFlight)
      })(),
    )
  }
  // Vendor dashboards open, each polling once a second from its own moment (browsers do not poll in step).
  for (const user of users.slice(0, options.dashboards)) {
    const vendor = 1 + ((user.userId * 37) % 250)
    load.push(
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 1000))
        while (performance.now() < deadline) {
          await timed('analytics', 'GET', `/api/vendors/${vendor}/analytics`, user)
          await new Promise((resolve) => setTimeout(resolve, 1000))
        }
      })(),
    )
  }
  await Promise.all(load)
  return result
}

/** The p-th percentile (0..1) of samples, in ms; 0 without samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}
