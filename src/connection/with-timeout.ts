// Bounds a wait: what the connection layer uses wherever a caller (or close()) must not wait for a
// server that may never answer.

/** `call`, or a rejection with `error()` after `ms`; the timer never keeps the process alive. */
export function withTimeout<T>(call: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms)
    timer.unref()
  })
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer))
}
