// Polls a condition until it holds or a deadline passes: the harness's replacement for sleeps.
// A check that hangs (a command to a paused server) cannot stretch the deadline.

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. @default 5000 */
  timeoutMs?: number
  /** Pause between two checks. @default 25 */
  intervalMs?: number
  /** Start of the rejection message, saying what was awaited. @default 'condition not met' */
  message?: string
}

const TIMED_OUT = Symbol('timed out')

/**
 * Calls `check` until it returns (or resolves to) a truthy value, and resolves with that value.
 * A throw or rejection counts as "not yet", as does a falsy value (`undefined` included, so an
 * assertion-only callback must `return true` at its end). After `timeoutMs` it rejects with
 * `message`, the last falsy value and the last error as `cause`.
 *
 * @example
 * await waitFor(async () => (await server.cli('DBSIZE')) === '0', { message: 'keys evicted' })
 */
export async function waitFor<T>(check: () => T | Promise<T>, options: WaitForOptions = {}): Promise<T> {
  const { timeoutMs = 5000, intervalMs = 25, message = 'condition not met' } = options
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  let lastValue: unknown
  let attempts = 0
  for (;;) {
    attempts++
    // The last attempt still gets one interval, so a check right at the deadline can finish.
    const budget = Math.max(deadline - Date.now(), intervalMs)
    try {
      const value = await withDeadline(check, budget)
      if (value === TIMED_OUT) {
        lastError = new Error(`check still pending after ${budget} ms`)
      } else if (value) {
        return value
      } else {
        lastValue = value
        lastError = undefined
      }
    } catch (error) {
      lastError = error
    }
    const remaining = deadline - Date.now()
    if (remaining <= 0) break
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)))
  }
  const last =
    lastError === undefined
      ? `last result: ${String(lastValue)}`
      : `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
  throw new Error(`${message} (waited ${timeoutMs} ms, ${attempts} checks; ${last})`, { cause: lastError })
}

async function withDeadline<T>(check: () => T | Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms)
  })
  try {
    return await Promise.race([Promise.resolve().then(check), timeout])
  } finally {
    clearTimeout(timer)
  }
}
