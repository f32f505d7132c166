import { describe, expect, it } from 'vitest'
import type { Logger } from '../logger.js'
import { ThrottledWarning } from './throttled-warning.js'

function collecting() {
  const lines: { fields: Record<string, unknown>; message: string }[] = []
  const noop = () => {}
  const logger: Logger = {
    debug: noop,
    info: noop,
    error: noop,
    warn: (fields, message) => lines.push({ fields, message }),
  }
  return { logger, lines }
}

describe('ThrottledWarning', () => {
  it('logs the first warning, then at most one per interval carrying how many were suppressed', () => {
    const { logger, lines } = collecting()
    let now = 5_000
    const warning = new ThrottledWarning(logger, 'redkit: something failed', {
      intervalMs: 1000,
      now: () => now,
    })
    expect(warning.warn({ error: 'first' })).toBe(true)
    for (let i = 0; i < 49; i++) {
      now += 10
      expect(warning.warn({ error: `again ${i}` })).toBe(false)
    }
    expect(lines).toEqual([
      { fields: { error: 'first', suppressed: 0 }, message: 'redkit: something failed' },
    ])
    now = 5_999
    expect(warning.warn({ error: 'still within' })).toBe(false)
    now = 6_000
    expect(warning.warn({ error: 'after the interval' })).toBe(true)
    expect(lines[1]).toEqual({
      fields: { error: 'after the interval', suppressed: 50 },
      message: 'redkit: something failed',
    })
    now = 7_500
    expect(warning.warn({ error: 'quiet meanwhile' })).toBe(true)
    expect(lines[2]!.fields.suppressed).toBe(0)
  })

  it('defaults to one warning per second on the system clock', () => {
    const { logger, lines } = collecting()
    const warning = new ThrottledWarning(logger, 'm')
    for (let i = 0; i < 100; i++) warning.warn({})
    expect(lines).toHaveLength(1)
  })
})
