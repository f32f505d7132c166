// Times a call for fault tests: how long the caller waited, and what it got (a value or an error).

/** Runs `fn`; resolves with the milliseconds it took and its value or error (never rejects). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = performance.now()
  try {
    const value = await fn()
    return { ms: performance.now() - started, value }
  } catch (error) {
    return { ms: performance.now() - started, error }
  }
}
