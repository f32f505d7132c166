// Fixed-size log-scale latency histogram: constant memory and an add that is one Math.log2 and an
// increment, so every cache read can be measured without a sampling reservoir.

const BUCKETS = 105
// Four buckets per doubling from 1 µs up to ~67 s: p50/p99 within ~19 %.
const PER_DOUBLING = 4
const MIN_MS = 0.001

/** Records durations in milliseconds and answers percentiles. */
export class LatencyHistogram {
  readonly #counts = new Uint32Array(BUCKETS)
  #total = 0

  /** Records one duration in ms. */
  add(ms: number): void {
    let index = ms <= MIN_MS ? 0 : Math.floor(Math.log2(ms / MIN_MS) * PER_DOUBLING) + 1
    if (index >= BUCKETS) index = BUCKETS - 1
    this.#counts[index]!++
    this.#total++
  }

  /** Number of recorded durations. */
  get count(): number {
    return this.#total
  }

  /** The duration below which `p` (0..1) of the recorded ones fall (upper bound of the bucket), or 0. */
  percentile(p: number): number {
    if (this.#total === 0) return 0
    const rank = Math.max(1, Math.ceil(p * this.#total))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!
      if (seen >= rank) return i === 0 ? MIN_MS : Math.round(MIN_MS * 2 ** (i / PER_DOUBLING) * 1000) / 1000
    }
    return Number.POSITIVE_INFINITY
  }
}
