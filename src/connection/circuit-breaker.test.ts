import { describe, expect, it } from 'vitest'
import { RedisUnavailableError } from '../errors.js'
import { type BreakerStateChange, CircuitBreaker } from './circuit-breaker.js'

const always = () => true
const fail = () => Promise.reject(new Error('boom'))
const ok = () => Promise.resolve('ok')

function breakerWithClock(threshold = 3, cooldownMs = 1000) {
  let now = 0
  const breaker = new CircuitBreaker({ threshold, cooldownMs, now: () => now })
  const changes: BreakerStateChange[] = []
  breaker.on('stateChange', (change) => changes.push(change))
  return { breaker, changes, advance: (ms: number) => (now += ms) }
}

describe('CircuitBreaker', () => {
  it('opens after threshold consecutive failures and then fails without calling fn', async () => {
    const { breaker, changes } = breakerWithClock(3)
    for (let i = 0; i < 3; i++) await expect(breaker.execute(fail, always)).rejects.toThrow('boom')
    expect(breaker.state).toBe('open')
    let called = false
    const started = performance.now()
    await expect(
      breaker.execute(() => {
        called = true
        return ok()
      }, always),
    ).rejects.toBeInstanceOf(RedisUnavailableError)
    expect(performance.now() - started).toBeLessThan(5)
    expect(called).toBe(false)
    expect(changes.map((c) => c.to)).toEqual(['open'])
    expect(changes[0]?.error).toBeInstanceOf(Error)
  })

  it('a success resets the consecutive count', async () => {
    const { breaker } = breakerWithClock(3)
    await expect(breaker.execute(fail, always)).rejects.toThrow()
    await expect(breaker.execute(fail, always)).rejects.toThrow()
    await breaker.execute(ok, always)
    await expect(breaker.execute(fail, always)).rejects.toThrow()
    await expect(breaker.execute(fail, always)).rejects.toThrow()
    expect(breaker.state).toBe('closed')
    expect(breaker.failures).toBe(2)
  })

  it('errors that are not failures do not count', async () => {
    const { breaker } = breakerWithClock(1)
    await expect(breaker.execute(fail, () => false)).rejects.toThrow('boom')
    expect(breaker.state).toBe('closed')
  })

  it('lets exactly one probe through after the cooldown; success closes', async () => {
    const { breaker, changes, advance } = breakerWithClock(1, 1000)
    await expect(breaker.execute(fail, always)).rejects.toThrow()
    advance(999)
    await expect(breaker.execute(ok, always)).rejects.toBeInstanceOf(RedisUnavailableError)
    advance(1)
    let release!: (v: string) => void
    const probe = breaker.execute(() => new Promise<string>((r) => (release = r)), always)
    expect(breaker.state).toBe('half-open')
    await expect(breaker.execute(ok, always)).rejects.toBeInstanceOf(RedisUnavailableError)
    release('done')
    await expect(probe).resolves.toBe('done')
    expect(breaker.state).toBe('closed')
    expect(changes.map((c) => c.to)).toEqual(['open', 'half-open', 'closed'])
  })

  it('a failed probe opens the breaker for another cooldown', async () => {
    const { breaker, advance } = breakerWithClock(2, 1000)
    await expect(breaker.execute(fail, always)).rejects.toThrow()
    await expect(breaker.execute(fail, always)).rejects.toThrow()
    advance(1000)
    await expect(breaker.execute(fail, always)).rejects.toThrow('boom')
    expect(breaker.state).toBe('open')
    advance(500)
    await expect(breaker.execute(ok, always)).rejects.toThrow(/next probe in 500 ms/)
  })

  it('reset closes an open breaker', async () => {
    const { breaker } = breakerWithClock(1)
    await expect(breaker.execute(fail, always)).rejects.toThrow()
    breaker.reset()
    await expect(breaker.execute(ok, always)).resolves.toBe('ok')
  })
})
