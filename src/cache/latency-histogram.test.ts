import { describe, expect, it } from 'vitest'
import { LatencyHistogram } from './latency-histogram.js'

describe('LatencyHistogram', () => {
  it('answers 0 when empty', () => {
    expect(new LatencyHistogram().percentile(0.5)).toBe(0)
  })

  it('gives percentiles within one bucket (~19%) of the true value', () => {
    const histogram = new LatencyHistogram()
    for (let i = 1; i <= 1000; i++) histogram.add(i / 100) // 0.01 .. 10 ms
    expect(histogram.count).toBe(1000)
    const p50 = histogram.percentile(0.5)
    const p99 = histogram.percentile(0.99)
    expect(p50).toBeGreaterThanOrEqual(5)
    expect(p50).toBeLessThan(5 * 1.2)
    expect(p99).toBeGreaterThanOrEqual(9.9)
    expect(p99).toBeLessThan(9.9 * 1.2)
  })

  it('clamps tiny and huge durations', () => {
    const histogram = new LatencyHistogram()
    histogram.add(0)
    histogram.add(1e12)
    expect(histogram.percentile(0.01)).toBe(0.001)
    expect(histogram.percentile(1)).toBeGreaterThan(60_000)
  })
})
