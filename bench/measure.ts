// Measures the throughput of an async operation against a baseline operation in the same process.
// Subject and baseline run in alternating rounds and the median round counts, because the machine is shared.

import { performance } from 'node:perf_hooks'

/** One call of the operation under test; its promise settles when the operation is done. */
export type Operation = () => Promise<unknown>

/** Options of {@link compare}. */
export interface CompareOptions {
  /** Loops that call the operation back to back, all at once (the number of commands in flight). */
  concurrency: number
  /** Measured time per side, split evenly over the rounds. @default 5000 */
  durationMs?: number
  /** Rounds per side; subject and baseline alternate between rounds. @default 5 */
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

/** Result of {@link compare}. */
export interface Comparison {
  subject: Throughput
  baseline: Throughput
  /** `subject.opsPerSec / baseline.opsPerSec`: 1 means the same speed, 0.9 means 10% slower. */
  ratio: number
}

/**
 * Measures `subject` and `baseline` in alternating rounds (S B B S S B ...: who goes first flips each
 * round, so neither side always runs right after the other) after a warm-up of each, and returns the
 * median ops/s of each side. Rejects with the first error an operation throws.
 */
export async function compare(
  subject: Operation,
  baseline: Operation,
  options: CompareOptions,
): Promise<Comparison> {
  const { concurrency, durationMs = 5000, rounds = 5, warmupMs = 1000, settleTimeoutMs = 10_000 } = options
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError('concurrency must be an integer >= 1')
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError('rounds must be an integer >= 1')
  const roundMs = durationMs / rounds
  const loop = { concurrency, settleTimeoutMs }

  if (warmupMs > 0) {
    await runFor(subject, { ...loop, durationMs: warmupMs })
    await runFor(baseline, { ...loop, durationMs: warmupMs })
  }
  const subjectRounds: number[] = []
  const baselineRounds: number[] = []
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['subject', 'baseline'] as const) : (['baseline', 'subject'] as const)
    for (const side of order) {
      const opsPerSec = await runFor(side === 'subject' ? subject : baseline, {
        ...loop,
        durationMs: roundMs,
      })
      ;(side === 'subject' ? subjectRounds : baselineRounds).push(opsPerSec)
    }
  }
  const subjectOps = median(subjectRounds)
  const baselineOps = median(baselineRounds)
  return {
    subject: { opsPerSec: subjectOps, rounds: subjectRounds },
    baseline: { opsPerSec: baselineOps, rounds: baselineRounds },
    ratio: baselineOps === 0 ? 0 : subjectOps / baselineOps,
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
