// Reads the workload records of an outage (server killed, hung or failed over) into a result row:
// what each feature answered while Redis was gone, and how long the app took to come back.

import { waitFor } from '../../harness/index.js'
import type { CallRecord, RunningWorkload } from '../workload.js'
import {
  between,
  countExceptions,
  maxWait,
  outcomeNotes,
  quantile,
  round,
  type ScenarioResult,
} from './scenario-result.js'

/** Kinds that only succeed when Redis answered (sessions are never faked). */
const REACHES_REDIS = new Set(['session-get', 'session-set'])

/**
 * Waits (up to `timeoutMs`) for the first call that reached Redis and succeeded, started after
 * `backAt`; resolves with the ms from `backAt` to its end.
 */
export async function waitForRecovery(
  load: RunningWorkload,
  backAt: number,
  timeoutMs: number,
): Promise<number> {
  const first = await waitFor(
    () => load.records.find((r) => r.startedAt >= backAt && REACHES_REDIS.has(r.kind) && r.outcome === 'ok'),
    { timeoutMs, intervalMs: 10, message: 'no call reached Redis after the server came back' },
  )
  return first!.startedAt + first!.ms - backAt
}

/** The phases of an outage on the workload clock. */
export interface OutageWindow {
  /** The fault was injected. */
  faultAt: number
  /** The server answered again (restart resolved, SIGCONT sent, new master promoted). */
  backAt: number
  recoveryMs: number
}

/** Builds the row and the details the tests assert on. */
export function outageResult(
  fault: string,
  records: readonly CallRecord[],
  window: OutageWindow,
  sessions: { checked: number; lost: number },
  extraNotes: string[] = [],
): ScenarioResult {
  const during = between(records, window.faultAt, window.backAt)
  // Calls that started while the breaker was open: no Redis round trip at all.
  const breakerOpen = during.filter((r) => r.breaker === 'open')
  const cacheDuring = during.filter((r) => r.kind === 'cache' || r.kind === 'cache-swr')
  const denyDuring = breakerOpen.filter((r) => r.kind === 'limiter:deny')
  const insuranceDuring = breakerOpen.filter((r) => r.kind === 'limiter:insurance')
  const sessionDuring = during.filter((r) => REACHES_REDIS.has(r.kind))
  const sessionErrors = sessionDuring.filter((r) => r.outcome === 'error')
  const after = records.filter((r) => r.startedAt >= window.backAt + window.recoveryMs)
  const wrong = records.filter((r) => r.wrong).length
  const openCacheExtra = breakerOpen
    .filter((r) => r.kind === 'cache' || r.kind === 'cache-swr')
    .map((r) => r.ms - r.factoryMs)
  const details = {
    callsDuringOutage: during.length,
    cacheCallsDuringOutage: cacheDuring.length,
    cacheFactoryOrGraceDuringOutage: cacheDuring.filter((r) => r.outcome !== 'error').length,
    cacheErrors: records.filter(
      (r) => (r.kind === 'cache' || r.kind === 'cache-swr') && r.outcome === 'error',
    ).length,
    denyCallsWhileOpen: denyDuring.length,
    denyAllowedWhileOpen: denyDuring.filter((r) => r.outcome === 'allowed').length,
    insuranceCallsWhileOpen: insuranceDuring.length,
    insuranceAllowedWhileOpen: insuranceDuring.filter((r) => r.outcome === 'allowed').length,
    limiterErrors: records.filter((r) => r.kind.startsWith('limiter:') && r.outcome === 'error').length,
    sessionCallsDuringOutage: sessionDuring.length,
    sessionErrorsDuringOutage: sessionErrors.length,
    sessionUntypedErrors: records.filter(
      (r) => REACHES_REDIS.has(r.kind) && r.outcome === 'error' && !r.typed,
    ).length,
    sessionErrorClasses: [...new Set(sessionErrors.map((r) => r.errorClass))].join(','),
    sessionMaxWaitMs: round(maxWait(records.filter((r) => REACHES_REDIS.has(r.kind)))),
    cacheHitsAfterRecovery: after.filter((r) => r.kind === 'cache' && r.outcome === 'cache').length,
    sessionOkAfterRecovery: after.filter((r) => REACHES_REDIS.has(r.kind) && r.outcome === 'ok').length,
    sessionErrorsAfterRecovery: after.filter((r) => REACHES_REDIS.has(r.kind) && r.outcome === 'error')
      .length,
    openCacheExtraP99Ms: round(quantile(openCacheExtra, 0.99)),
    openCacheCalls: openCacheExtra.length,
    wrongAnswers: wrong,
    sessionsChecked: sessions.checked,
    sessionsLost: sessions.lost,
  }
  return {
    fault,
    operations: records.length,
    exceptions: countExceptions(records),
    valuesLost: wrong + sessions.lost,
    staleServed: 0,
    recoveryMs: round(window.recoveryMs),
    maxWaitMs: round(maxWait(records)),
    notes: [
      ...extraNotes,
      `outage ${round(window.backAt - window.faultAt)} ms; ${sessions.checked} acknowledged sessions re-read after recovery, ${sessions.lost} missing`,
      ...outcomeNotes(during).map((line) => `during outage ${line}`),
      `slowest calls: ${[...records]
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 3)
        .map((r) => `${r.kind} ${r.outcome} ${round(r.ms)} ms at +${round(r.startedAt - window.faultAt)} ms`)
        .join('; ')}`,
    ],
    details,
  }
}
