// Which redkit the benchmarks measure: the built package in dist/ (what an app installs and runs), or
// the TypeScript sources with REDKIT_BENCH_SOURCE=1 (no build step; transpiled on the fly, a bit slower).

import type * as Redkit from '../src/index.js'

const entry = process.env.REDKIT_BENCH_SOURCE ? '../src/index.js' : '../dist/index.js'
const redkit = (await import(entry)) as typeof Redkit

export const { createRedkit } = redkit
