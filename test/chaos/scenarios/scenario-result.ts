// The result row every chaos scenario returns, and the helpers that turn workload records into one.
// The vitest files assert on these rows; `npm run chaos` prints them as a table.

import type { CallKind, CallRecord } from '../workload.js'

/** What one scenario run saw, as callers saw it. */
export interface ScenarioResult {
  /** The fault, e.g. `kill -9 during load`. */
  fault: string
  /** Calls attempted. */
  operations: number
  /** Calls that threw where the contract says they must not (cache, limiter, revocation), plus untyped errors anywhere. */
  exceptions: number
  /** Acknowledged writes not found afterwards, or answers that were wrong (another key's value, a revoked token let through). */
  valuesLost: number
  /** Values served as current after they were invalidated or overwritten. */
  staleServed: number
  /** ms from the moment the server answered again to the first successful call (null: no recovery phase). */
  recoveryMs: number | null
  /** The slowest call, in ms. */
  maxWaitMs: number
  /** Details: outcome counts, policies observed, server facts. */
  notes: string[]
  /** Scenario-specific numbers the tests assert on. */
  details: Record<string, number | string | boolean>
}

/** Scenario run length: `fast` for the vitest files, `long` for `npm run chaos`. */
export type ScenarioMode = 'fast' | 'long'

/** Options every scenario accepts. */
export interface ScenarioOptions {
  mode?: ScenarioMode
}

/** Kinds whose contract is "never throws" (they degrade instead). */
const NEVER_THROWS = (kind: CallKind) =>
  kind === 'cache' || kind === 'cache-swr' || kind.startsWith('limiter:') || kind === 'revocation'

/** Calls that surfaced an exception they should not have. */
export function countExceptions(records: readonly CallRecord[]): number {
  return records.filter((r) => r.outcome === 'error' && (NEVER_THROWS(r.kind) || !r.typed)).length
}

/** The slowest call. */
export function maxWait(records: readonly CallRecord[]): number {
  return records.reduce((max, r) => Math.max(max, r.ms), 0)
}

/** `p`-quantile (0..1) of `values`. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

/** Outcome counts per kind, e.g. `cache: factory 120, cache 3400`. */
export function outcomeNotes(records: readonly CallRecord[]): string[] {
  const byKind = new Map<string, Map<string, number>>()
  for (const r of records) {
    const outcome = r.outcome === 'error' ? `error ${r.errorClass}` : r.outcome
    const counts = byKind.get(r.kind) ?? new Map<string, number>()
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1)
    byKind.set(r.kind, counts)
  }
  return [...byKind].map(
    ([kind, counts]) =>
      `${kind}: ${[...counts]
        .sort((a, b) => b[1] - a[1])
        .map(([o, n]) => `${o} ${n}`)
        .join(', ')}`,
  )
}

/** Records that started inside [from, to) (ms on the workload clock). */
export function between(records: readonly CallRecord[], from: number, to: number): CallRecord[] {
  return records.filter((r) => r.startedAt >= from && r.startedAt < to)
}

/** A promise that resolves after `ms`. */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Milliseconds as a short number for tables. */
export const round = (ms: number) => Math.round(ms * 10) / 10
