// Measures the throughput of an async operation against baseline operations in the same process.
// All sides run in alternating rounds and the median round counts, because the machine is shared.

import { performance } from 'node:perf_hooks'

/** One call of the operation under test; its promise settles when the operation is done. */
export type Operation = () => Promise<unknown>

/** Options of {@link compare}. */
export interface CompareOptions {
  /** Loops that call the operation back to back, all at once (the number of commands in flight). */
  concurrency: number
  /** Measured time per side, split evenly over the rounds. @default 5000 */
  durationMs?: number
  /** Rounds per side; every round runs each side once, in alternating order. @default 5 */
  rounds?: number
  /** Unmeasured run of each side before the first round (JIT, connections, server caches). @default 1000 */
  warmupMs?: number
  /**
   * How long in-flight calls may take to settle after a round's deadline before the round fails,
   * so a hung operation ends the run instead of hanging it. @default 10000
   */
  settleTimeoutMs?: number
}

/** Throughput of one side over all rounds. */
export interface Throughput {
  /** Median ops/s over the rounds. */
  opsPerSec: number
  /** Ops/s of each round, in the order they ran. */
  rounds: number[]
}

/** One baseline's result in {@link compare}. */
export interface BaselineThroughput extends Throughput {
  /** `subject.opsPerSec / opsPerSec`: 1 means the same speed, 0.9 means the subject is 10% slower. */
  ratio: number
}

/** Result of {@link compare}. */
export interface Comparison {
  subject: Throughput
  /** One entry per baseline, in the order they were given. */
  baselines: BaselineThroughput[]
}

/**
 * Measures `subject` and every baseline in alternating rounds after a warm-up of each, and returns the
 * median ops/s of each side. A round runs every side once; the order reverses each round (S B1 B2,
 * B2 B1 S, S B1 B2, ...; with one baseline S B, B S, ...), so no side always runs right after the same
 * other side and load on a shared machine hits all of them alike. Rejects with the first error an
 * operation throws.
 */
export async function compare(
  subject: Operation,
  baselines: readonly Operation[],
  options: CompareOptions,
): Promise<Comparison> {
  const { concurrency, durationMs = 5000, rounds = 5, warmupMs = 1000, settleTimeoutMs = 10_000 } = options
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError('concurrency must be an integer >= 1')
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError('rounds must be an integer >= 1')
  if (baselines.length === 0) throw new RangeError('compare needs at least one baseline')
  const roundMs = durationMs / rounds
  const loop = { concurrency, settleTimeoutMs }
  const sides = [subject, ...baselines]

  if (warmupMs > 0) {
    for (const side of sides) await runFor(side, { ...loop, durationMs: warmupMs })
  }
  const results: number[][] = sides.map(() => [])
  const forward = sides.map((_, i) => i)
  const backward = [...forward].reverse()
  for (let round = 0; round < rounds; round++) {
    for (const i of round % 2 === 0 ? forward : backward) {
      results[i]!.push(await runFor(sides[i]!, { ...loop, durationMs: roundMs }))
    }
  }
  const subjectRounds = results[0]!
  const baselineRounds = results.slice(1)
  const subjectOps = median(subjectRounds)
  return {
    subject: { opsPerSec: subjectOps, rounds: subjectRounds },
    baselines: baselineRounds.map((roundsOfSide) => {
      const opsPerSec = median(roundsOfSide)
      return { opsPerSec, rounds: roundsOfSide, ratio: opsPerSec === 0 ? 0 : subjectOps / opsPerSec }
    }),
  }
}

/** Options of {@link runFor}. */
export interface RunOptions {
  concurrency: number
  durationMs: number
  /** See {@link CompareOptions.settleTimeoutMs}. @default 10000 */
  settleTimeoutMs?: number
}

/**
 * Calls `operation` from `concurrency` loops until `durationMs` has passed and returns ops/s. Only
 * calls that finished before the deadline count. The deadline is checked on every call rather than
 * with a timer, so an operation that settles without yielding to the event loop still stops.
 */
export async function runFor(operation: Operation, options: RunOptions): Promise<number> {
  const { concurrency, durationMs, settleTimeoutMs = 10_000 } = options
  const start = performance.now()
  const deadline = start + durationMs
  let completed = 0
  let failure: { error: unknown } | undefined

  const worker = async (): Promise<void> => {
    while (failure === undefined) {
      try {
        await operation()
      } catch (error) {
        failure ??= { error }
        return
      }
      if (performance.now() >= deadline) return
      completed++
    }
  }

  const workers = Promise.all(Array.from({ length: concurrency }, worker))
  // The settle budget starts at the deadline: a call that never settles ends the run here.
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), durationMs + settleTimeoutMs)
  })
  const outcome = await Promise.race([workers, hung])
  clearTimeout(timer)
  if (outcome === 'hung') {
    failure ??= { error: new Error(`calls still pending ${settleTimeoutMs} ms after the end of the round`) }
  }
  if (failure) throw failure.error
  return completed / (durationMs / 1000)
}

/** The middle value (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
