// The load the chaos scenarios run while they break servers: several async workers making mixed calls
// (cache, limiter, sessions, revocation, bus) and recording, per call, what the caller saw and how long it waited.

import { randomBytes } from 'node:crypto'
import type {
  BreakerState,
  Cache,
  RateLimiter,
  Redkit,
  SessionStore,
  StoreErrorPolicy,
} from '../../src/index.js'
import { RedkitError } from '../../src/index.js'

/** What a worker called. `limiter:<policy>` names the limiter's `onStoreError` policy. */
export type CallKind =
  | 'cache'
  | 'cache-swr'
  | `limiter:${StoreErrorPolicy}`
  | 'session-get'
  | 'session-set'
  | 'revocation'
  | 'publish'

/**
 * What the caller got: for cache calls the value's source (`cache`, `factory`, `stale`, `grace`), for
 * limiters `allowed`/`denied`, for revocation `revoked`/`not-revoked`, otherwise `ok`; `error` when it threw.
 */
export type CallOutcome =
  | 'cache'
  | 'factory'
  | 'stale'
  | 'grace'
  | 'allowed'
  | 'denied'
  | 'revoked'
  | 'not-revoked'
  | 'ok'
  | 'error'

/** One call as the workload saw it. */
export interface CallRecord {
  kind: CallKind
  outcome: CallOutcome
  /** Class name of the error thrown, when `outcome` is `error`. */
  errorClass?: string
  /** Whether the error was a typed redkit error (`RedkitError` or a subclass). */
  typed?: boolean
  /** When the call started, in ms since the workload started. */
  startedAt: number
  /** How long the caller waited, in ms. */
  ms: number
  /** Time spent in the factory during this call (cache calls), in ms. */
  factoryMs: number
  /** Breaker state when the call started. */
  breaker: BreakerState
  /** The answer was wrong: another key's value, an older session than the last acknowledged one, a revoked token let through. */
  wrong?: boolean
}

/** Options of {@link startWorkload}. */
export interface WorkloadOptions {
  /** Concurrent workers. @default 8 */
  workers?: number
  /** Distinct cache keys per namespace. @default 200 */
  keys?: number
  /** Pause of each worker between two calls, in ms (bounds the rate). @default 1 */
  pauseMs?: number
  /** How long a cache factory takes, in ms (0: it answers at once). @default 0 */
  factoryMs?: number
  /** Which calls to make, in rotation. @default every kind */
  kinds?: readonly CallKind[]
  /** Limit of the limiters (per key per window); a worker uses its own keys. @default 1000 */
  limit?: number
  /** Namespace suffix, so two workloads on one server do not share keys. @default random */
  run?: string
}

/** A running workload: its records so far, and `stop()` that ends the loop and resolves with them. */
export interface RunningWorkload {
  readonly records: readonly CallRecord[]
  /** ms since the workload started (the time base of `startedAt`). */
  now(): number
  /** Bus messages received by the workload's own subscriber. */
  readonly received: () => number
  /** Session ids whose last write was acknowledged, with the value written. */
  readonly acknowledgedSessions: ReadonlyMap<string, number>
  /** Reads every acknowledged session back; counts the missing or older ones. Sessions must be reachable. */
  verifySessions(): Promise<{ checked: number; lost: number }>
  stop(): Promise<readonly CallRecord[]>
}

const ALL_KINDS: readonly CallKind[] = [
  'cache',
  'cache-swr',
  'limiter:insurance',
  'cache',
  'limiter:deny',
  'session-get',
  'cache-swr',
  'session-set',
  'revocation',
  'publish',
]

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Starts the mixed load on `kit` and returns at once; the workers run until `stop()`.
 *
 * @example
 * const load = await startWorkload(kit, { workers: 8 })
 * await server.kill9()
 * const records = await load.stop()
 */
export async function startWorkload(kit: Redkit, options: WorkloadOptions = {}): Promise<RunningWorkload> {
  const workers = options.workers ?? 8
  const keyCount = options.keys ?? 200
  const pauseMs = options.pauseMs ?? 1
  const factoryDelay = options.factoryMs ?? 0
  const kinds = options.kinds ?? ALL_KINDS
  const run = options.run ?? randomBytes(3).toString('hex')
  const limit = options.limit ?? 1000
  const t0 = performance.now()
  const now = () => performance.now() - t0

  let breaker: BreakerState = kit.metrics().breaker.state
  const onBreaker = ({ to }: { to: BreakerState }) => {
    breaker = to
  }
  kit.on('breakerStateChange', onBreaker)

  const plain = kit.cache<{ key: string }>(`load-${run}`, { ttl: '1m' })
  const swr = kit.cache<{ key: string }>(`load-swr-${run}`, { ttl: '2s', swr: '1m', grace: '1h' })
  const limiters: Record<string, RateLimiter> = {}
  for (const policy of ['insurance', 'allow', 'deny'] as const) {
    limiters[policy] = kit.limiter(`load-${policy}-${run}`, {
      algorithm: 'sliding-window',
      limit,
      window: '1m',
      onStoreError: policy,
    })
  }
  const needsSessions = kinds.some((kind) => kind.startsWith('session'))
  const sessions: SessionStore | undefined = needsSessions
    ? kit.sessions({ prefix: `sess-${run}`, secret: randomBytes(32).toString('base64') })
    : undefined
  const revocations = kit.revocations()
  const exp = Math.floor(Date.now() / 1000) + 3600
  const revokedJti = `revoked-${run}`
  let received = 0
  let unsubscribe: (() => Promise<void>) | undefined
  if (kinds.includes('revocation')) await revocations.revoke(revokedJti, exp)
  if (kinds.includes('publish')) {
    unsubscribe = await kit.bus.subscribe(`load-${run}`, () => received++, { includeSelf: true })
  }

  const records: CallRecord[] = []
  const acknowledged = new Map<string, number>()
  let stopped = false

  const cacheCall = async (cache: Cache<{ key: string }>, key: string, worker: number) => {
    let factoryMs = 0
    const { value, outcome } = await cache.getOrSetWithOutcome(
      key,
      async () => {
        const started = performance.now()
        if (factoryDelay > 0) await sleep(factoryDelay)
        factoryMs += performance.now() - started
        return { key }
      },
      { tags: [`w${worker % 4}`] },
    )
    const source: CallOutcome =
      outcome === 'hit' ? 'cache' : outcome === 'miss' ? 'factory' : outcome === 'stale' ? 'stale' : 'grace'
    return { outcome: source, factoryMs, wrong: value?.key !== key }
  }

  const cookie = () => ({ originalMaxAge: 600_000, expires: new Date(Date.now() + 600_000).toISOString() })

  const call = async (
    kind: CallKind,
    worker: number,
    step: number,
  ): Promise<{ outcome: CallOutcome; factoryMs?: number; wrong?: boolean }> => {
    const key = `k${(worker * 7919 + step) % keyCount}`
    switch (kind) {
      case 'cache':
        return cacheCall(plain, key, worker)
      case 'cache-swr':
        return cacheCall(swr, key, worker)
      case 'session-set': {
        const sid = `w${worker}-s${step % 5}`
        const n = step
        await sessions!.set(sid, { cookie: cookie(), userId: `u${worker}`, n } as never)
        acknowledged.set(sid, n)
        return { outcome: 'ok' }
      }
      case 'session-get': {
        const sid = `w${worker}-s${step % 5}`
        const before = acknowledged.get(sid)
        const session = (await sessions!.get(sid)) as { n?: number } | null
        const wrong = before !== undefined && (session === null || (session.n ?? -1) < before)
        return { outcome: 'ok', wrong }
      }
      case 'revocation': {
        const revoked = step % 2 === 0
        const answer = await revocations.isRevoked({
          jti: revoked ? revokedJti : `fine-${run}-${step}`,
          sub: `u${worker}`,
          iat: exp - 3600,
        })
        return { outcome: answer ? 'revoked' : 'not-revoked', wrong: revoked && !answer }
      }
      case 'publish':
        await kit.bus.publish(`load-${run}`, { worker, step })
        return { outcome: 'ok' }
      default: {
        const policy = kind.slice('limiter:'.length)
        const result = await limiters[policy]!.consume(`w${worker}`)
        return { outcome: result.allowed ? 'allowed' : 'denied' }
      }
    }
  }

  const worker = async (index: number) => {
    for (let step = 0; !stopped; step++) {
      const kind = kinds[(index + step) % kinds.length]!
      const startedAt = now()
      const state = breaker
      try {
        const result = await call(kind, index, step)
        records.push({
          kind,
          outcome: result.outcome,
          startedAt,
          ms: now() - startedAt,
          factoryMs: result.factoryMs ?? 0,
          breaker: state,
          ...(result.wrong ? { wrong: true } : {}),
        })
      } catch (error) {
        records.push({
          kind,
          outcome: 'error',
          errorClass: (error as Error)?.constructor?.name ?? typeof error,
          typed: error instanceof RedkitError,
          startedAt,
          ms: now() - startedAt,
          factoryMs: 0,
          breaker: state,
        })
      }
      if (pauseMs > 0) await sleep(pauseMs)
      else await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
  const running = Array.from({ length: workers }, (_, index) => worker(index))

  return {
    records,
    now,
    received: () => received,
    acknowledgedSessions: acknowledged,
    async verifySessions() {
      let lost = 0
      for (const [sid, n] of acknowledged) {
        const session = (await sessions!.get(sid)) as { n?: number } | null
        if (session === null || (session.n ?? -1) < n) lost++
      }
      return { checked: acknowledged.size, lost }
    },
    async stop() {
      stopped = true
      await Promise.all(running)
      kit.off('breakerStateChange', onBreaker)
      await unsubscribe?.().catch(() => {})
      return records
    },
  }
}
