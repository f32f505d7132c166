// What a rate-limit algorithm is: its Lua functions (spliced between PRELUDE and FRAME) and a
// JS twin of the same functions for the embedded store. Both must compute with the same operations.

/** The algorithms a limiter can run. */
export type RateLimitAlgorithm = 'fixed-window' | 'sliding-window' | 'token-bucket'

/** What the algorithm functions see, as the Lua prelude defines it. */
export interface AlgorithmClock {
  limit: number
  /** Window in ms. */
  window: number
  /** Server time in ms (whole). */
  now: number
  /** Server time in microseconds. */
  nowUs: number
}

/** The per-key functions of an algorithm, bound to one clock; mirrors the local functions of its Lua file. */
export interface AlgorithmFunctions<S> {
  /** Parses the stored state (`null` when the key holds none, or holds something else). */
  load(body: string | null): S
  fits(state: S, units: number): boolean
  add(state: S, units: number): void
  remaining(state: S): number
  resetMs(state: S): number
  retryMs(state: S, units: number): number
  /** Until when the state matters (server ms); 0 when it is empty. */
  horizon(state: S): number
  /**
   * The state as the embedded store keeps it. The twin's layout is its own (text): only the replies must
   * match the Lua's, and the embedded store's values never meet Redis.
   */
  encode(state: S): string
}

/** One algorithm: its Lua part and its twin. */
export interface Algorithm<S = unknown> {
  name: RateLimitAlgorithm
  lua: string
  bind(clock: AlgorithmClock): AlgorithmFunctions<S>
}

/** Lua's `tonumber(x)` for a stored field: `undefined` where Lua gives nil (missing or not a number). */
export function fieldNumber(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === '') return undefined
  const number = Number(value)
  return Number.isNaN(number) ? undefined : number
}
