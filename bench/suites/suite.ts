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

/** One comparison: the redkit operation and the baseline it is measured against. */
export interface BenchCase {
  /** Shown in the `case` column, e.g. `get c=100`. */
  name: string
  /** Commands in flight at once (concurrent loops). */
  concurrency: number
  /** What redkit does, e.g. `kit.store.get(key)`. */
  subject: Operation
  /** Shown in the `baseline` column, e.g. `ioredis`. */
  baselineName: string
  /** The same work without redkit. */
  baseline: Operation
}

/**
 * A comparison the suite measures itself (one-shot work such as "invalidate a tag of 1M entries"),
 * reported in the same row format: ops/s is 1000 / latency in ms for one-shot work.
 */
export interface MeasuredCase {
  name: string
  baselineName: string
  measure(options: { quick: boolean }): Promise<{ opsPerSec: number; baselineOpsPerSec: number }>
}

/** A suite after setup: its cases, and how to release what setup opened. */
export interface PreparedSuite {
  cases: (BenchCase | MeasuredCase)[]
  /** Deletes the suite's keys and closes its connections. */
  teardown(): Promise<void>
}

/** A group of cases that share a setup. */
export interface BenchSuite {
  /** The name given on the command line. */
  name: string
  /** One line for the usage message. */
  description: string
  setup(context: SuiteContext): Promise<PreparedSuite>
}
