// The registry of benchmark suites, by command-line name. A new suite plugs in with one import and
// one entry here; run.ts derives its usage message and validation from this list.

import { cacheSuite } from './cache.js'
import { connectionSuite } from './connection.js'
import { demoSuite } from './demo.js'
import { httpSuite } from './http.js'
import { ratelimitSuite } from './ratelimit.js'
import { sessionSuite } from './session.js'
import type { BenchSuite } from './suite.js'
import { tagsSuite } from './tags.js'

export type { Baseline, BenchCase, BenchSuite, MeasuredCase, PreparedSuite, SuiteContext } from './suite.js'

/** Every suite `npm run bench -- <suite>` accepts. */
export const suites: readonly BenchSuite[] = [
  connectionSuite,
  cacheSuite,
  tagsSuite,
  ratelimitSuite,
  sessionSuite,
  demoSuite,
  httpSuite,
]

/** The suite of that name, or `undefined`. */
export function findSuite(name: string): BenchSuite | undefined {
  return suites.find((suite) => suite.name === name)
}
