// Fast variants of the maxmemory scenarios: allkeys-lru evicting tag version keys under invalidated
// entries (never resurrected), and noeviction refusing writes (counted, reads unaffected).

import { afterAll, describe, expect, it } from 'vitest'
import { stopAllServers } from '../harness/index.js'
import { maxmemoryEviction, maxmemoryNoeviction } from './scenarios/maxmemory-pressure.js'

afterAll(() => stopAllServers())

describe('maxmemory under write pressure', () => {
  it('allkeys-lru: an evicted tag version key never brings an invalidated entry back', async () => {
    const result = await maxmemoryEviction({ mode: 'fast' })
    const d = result.details
    expect(d.warmHits).toBe(300)
    // The dangerous state was reached: dead v1 entries stored, the version keys of their tags evicted.
    expect(d.evicted).toBeGreaterThan(0)
    expect(d.versionsEvicted).toBeGreaterThan(0)
    expect(d.hazardRows).toBeGreaterThan(0)
    expect(result.staleServed).toBe(0)
    expect(result.valuesLost).toBe(0)
    expect(result.exceptions).toBe(0)
  }, 30_000)

  it('noeviction: reads keep working, getOrSet answers, refused writes are counted', async () => {
    const result = await maxmemoryNoeviction({ mode: 'fast' })
    const d = result.details
    expect(result.exceptions).toBe(0)
    expect(d.refusedWrites).toBeGreaterThan(100)
    expect(d.readsOk).toBe(150)
    expect(d.factoryAnswers).toBe(150)
    expect(result.valuesLost).toBe(0)
    // OOM is a reply, not an outage: the breaker stays closed.
    expect(d.breakerAfter).toBe('closed')
  }, 30_000)
})
