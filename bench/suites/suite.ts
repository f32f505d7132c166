// The shape every benchmark suite has: a name, a setup that connects to Redis, and its cases.
// run.ts only knows this interface, so a new suite is one file plus a line in suites/index.ts.

import type { Operation } from '../measure.js'

/** What a suite's setup receives. */
export interface SuiteContext {
  /** `redis://host:port` of the server to benchmark against (REDIS_URL or one the runner started). */
  url: string
  /** A key prefix unique to this run; every key a suite writes starts with it, so a shared server is safe. */
  keyPrefix: string
}

/** What a case is measured against: the same work without redkit, or with a peer library. */
export interface Baseline {
  /** Shown in the `baseline` column, e.g. `node-redis get`. */
  name: string
  /** The same work without redkit. */
  operation: Operation
  /**
   * The ratio (subject ops/s / baseline ops/s) the project aims for, shown in the `target` column.
   * Absent for a baseline that is only reported.
   */
  target?: number
}

/**
 * One redkit operation and the baselines it is measured against. All of them run in the same
 * alternating rounds, so every row of the case compares against the same subject rounds.
 */
export interface BenchCase {
  /** Shown in the `case` column, e.g. `get c=100`. */
  name: string
  /** Commands in flight at once (concurrent loops). */
  concurrency: number
  /** What redkit does, e.g. `kit.store.get(key)`. */
  subject: Operation
  /** At least one; the table has a row per baseline. */
  baselines: readonly Baseline[]
}

/**
 * A comparison the suite measures itself (one-shot work such as "invalidate a tag of 1M entries"),
 * reported in the same row format: ops/s is 1000 / latency in ms for one-shot work.
 */
export interface MeasuredCase {
  name: string
  baselineName: string
  /** As {@link Baseline.target}. */
  target?: number
  measure(options: { quick: boolean }): Promise<{ opsPerSec: number; baselineOpsPerSec: number }>
}

/** A suite after setup: its cases, and how to release what setup opened. */
export interface PreparedSuite {
  cases: (BenchCase | MeasuredCase)[]
  /** Deletes the suite's keys and closes its connections. */
  teardown(): Promise<void>
}

/** A group of cases that share a setup. */
export interface CaseSuite {
  /** The name given on the command line. */
  name: string
  /** One line for the usage message. */
  description: string
  setup(context: SuiteContext): Promise<PreparedSuite>
}

/**
 * A suite that measures something other than ops/s against a baseline (the end-to-end demo run): it
 * drives its own measurement and prints its own tables (or JSON lines with `json`).
 */
export interface ReportSuite {
  name: string
  description: string
  run(context: SuiteContext, options: { quick: boolean; json: boolean }): Promise<void>
}

/** Either kind of suite; run.ts tells them apart by `run`. */
export type BenchSuite = CaseSuite | ReportSuite
