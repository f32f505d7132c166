// RedkitStore's own checks: bad options fail at construction, a bad windowMs or a taken prefix at init,
// and a store used before init says what to do.

import { afterAll, describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../errors.js'
import { createRedkit } from '../../index.js'
import { RedkitStore, type RedkitStoreOptions } from './index.js'

const kit = createRedkit({ url: 'memory', app: 'erl-unit', environment: {} })
afterAll(() => kit.close())

function create(options: Record<string, unknown>): RedkitStore {
  return new RedkitStore({ kit, ...options } as unknown as RedkitStoreOptions)
}

describe('RedkitStore options', () => {
  it.each([
    [{ prefx: 'api' }, /unknown option 'prefx' \(did you mean 'prefix'\?\)/],
    [{ prefix: '' }, /prefix must be a non-empty string/],
    [{ instances: 1.5 }, /instances must be a whole number >= 1/],
    [{ onStoreError: 'allow' }, /onStoreError must be one of 'insurance', 'throw'/],
    [{ kit: {} }, /set kit to a redkit instance/],
    [{ sendCommand: () => 1 }, /'sendCommand' has no meaning here: the store uses the kit's own connection/],
    [{ resetExpiryOnChange: true }, /'resetExpiryOnChange' is not supported: a window always ends windowMs/],
  ])('refuses %o', (options, message) => {
    expect(() => create(options)).toThrow(InvalidOptionsError)
    expect(() => create(options)).toThrow(message)
  })

  it('is a shared (not local) store whose prefix express-rate-limit can read', () => {
    const store = create({ prefix: 'api' })
    expect(store.localKeys).toBe(false)
    expect(store.prefix).toBe('api')
    expect(create({}).prefix).toBe('erl')
  })
})

describe('RedkitStore init', () => {
  it('refuses a bad windowMs, and then every call rejects with that error', async () => {
    const store = create({ prefix: 'bad-window' })
    expect(() => store.init({ windowMs: 0 })).toThrow(/windowMs must be a number of milliseconds >= 1/)
    await expect(store.increment('k')).rejects.toThrow(/windowMs must be a number/)
    store.init({ windowMs: 1000 })
    expect((await store.increment('k')).totalHits).toBe(1)
  })

  it('says to pass the store to rateLimit() when used before init', async () => {
    await expect(create({ prefix: 'no-init' }).increment('k')).rejects.toThrow(
      /was not initialised: pass it to rateLimit\(\{ store \}\)/,
    )
  })

  it('counts hits in a window opened by the first one; decrement never goes below zero', async () => {
    const store = create({ prefix: 'counts' })
    store.init({ windowMs: 60_000 })
    const first = await store.increment('k')
    expect(first.totalHits).toBe(1)
    expect(Math.abs(first.resetTime!.getTime() - Date.now() - 60_000)).toBeLessThan(1000)
    const second = await store.increment('k')
    expect(second.totalHits).toBe(2)
    // The same window: it ends when the first hit's did (up to the clock ticking between the calls).
    expect(Math.abs(second.resetTime!.getTime() - first.resetTime!.getTime())).toBeLessThanOrEqual(5)
    await store.decrement('k')
    await store.decrement('k')
    await store.decrement('k')
    expect(await store.get('k')).toBeUndefined()
    expect((await store.increment('k')).totalHits).toBe(1)
  })
})
