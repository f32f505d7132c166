// RateLimiterRedkit's options and arguments: rate-limiter-flexible options redkit does not support are
// refused at construction with a message naming them; bad call arguments reject with an Error.

import { afterAll, describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../errors.js'
import { createRedkit } from '../../index.js'
import { RateLimiterRedkit, type RateLimiterRedkitOptions } from './rate-limiter-redkit.js'
import { RateLimiterRes } from './rate-limiter-res.js'

const kit = createRedkit({ url: 'memory', app: 'rlf-unit', environment: {} })
afterAll(() => kit.close())
let counter = 0

function create(options: Record<string, unknown>): RateLimiterRedkit {
  return new RateLimiterRedkit({
    kit,
    points: 5,
    duration: 60,
    keyPrefix: `unit-${++counter}`,
    ...options,
  } as unknown as RateLimiterRedkitOptions)
}

describe('RateLimiterRedkit options', () => {
  it.each([
    ['storeClient', {}, /'storeClient' has no meaning here.*pass `kit`/],
    ['useRedisPackage', true, /'useRedisPackage' has no meaning here/],
    ['rejectIfRedisNotReady', true, /onStoreError/],
    ['insuranceLimiter', {}, /'insuranceLimiter' is replaced by onStoreError: 'insurance'/],
    ['execEvenly', true, /'execEvenly' is not supported/],
    ['execEvenlyMinDelayMs', 10, /'execEvenlyMinDelayMs' is not supported/],
    ['customIncrTtlLuaScript', 'return 1', /'customIncrTtlLuaScript' is not supported/],
  ])('refuses %s, naming it and saying what to do', (name, value, message) => {
    expect(() => create({ [name]: value })).toThrow(InvalidOptionsError)
    expect(() => create({ [name]: value })).toThrow(message)
  })

  it('accepts execEvenly: false, and suggests the option a typo meant', () => {
    expect(create({ execEvenly: false }).execEvenly).toBe(false)
    expect(() => create({ blockDuraton: 10 })).toThrow(
      /unknown option 'blockDuraton' \(did you mean 'blockDuration'\?\)/,
    )
  })

  it.each([
    [{ points: undefined }, /points must be a whole number/],
    [{ points: 1.5 }, /points must be a whole number/],
    [{ points: -1 }, /points must be a whole number/],
    [{ duration: 0 }, /windows that never expire are not supported/],
    [{ duration: '60' }, /duration must be a number of seconds/],
    [{ blockDuration: -1 }, /blockDuration must be a number of seconds/],
    [{ blockOnConsumed: 3 }, /blockOnConsumed must be 0 or at least points \(5\)/],
    [{ inMemoryBlockOnConsumed: 2 }, /inMemoryBlockOnConsumed must be 0 or at least points/],
    [{ inMemoryBlockDuration: 10 }, /inMemoryBlockDuration needs inMemoryBlockOnConsumed/],
    [{ keyPrefix: '' }, /keyPrefix must be a non-empty string/],
    [{ onStoreError: 'allow' }, /onStoreError must be one of 'throw', 'insurance'/],
    [{ instances: 0 }, /instances must be a whole number >= 1/],
    [{ kit: undefined }, /set kit to a redkit instance/],
  ])('refuses %o', (options, message) => {
    expect(() => create(options)).toThrow(message)
  })

  it('refuses a keyPrefix taken by a limiter with another duration', () => {
    create({ keyPrefix: 'taken' })
    expect(create({ keyPrefix: 'taken' }).keyPrefix).toBe('taken')
    expect(() => create({ keyPrefix: 'taken', duration: 30 })).toThrow(
      /keyPrefix 'taken' is already a limiter of this kit/,
    )
  })

  it("exposes rate-limiter-flexible's option fields", () => {
    const limiter = create({ points: 3, duration: 1.5, blockDuration: 2 })
    expect({
      points: limiter.points,
      duration: limiter.duration,
      msDuration: limiter.msDuration,
      blockDuration: limiter.blockDuration,
      msBlockDuration: limiter.msBlockDuration,
    }).toEqual({ points: 3, duration: 1.5, msDuration: 1500, blockDuration: 2, msBlockDuration: 2000 })
  })
})

describe('RateLimiterRedkit calls', () => {
  it('reject bad arguments with an Error, never a RateLimiterRes, and count nothing', async () => {
    const limiter = create({})
    for (const call of [
      () => limiter.consume('k', 0),
      () => limiter.consume('k', 1.5),
      () => limiter.consume(''),
      () => limiter.penalty('k', -1),
      () => limiter.reward('k', Number.NaN),
      () => limiter.block('k', 0),
      () => limiter.consume('k', 1, { customDuration: 5 } as never),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(InvalidOptionsError)
    }
    expect(await limiter.get('k')).toBeNull()
  })

  it('say why block(key, 0) and per-call options are refused', async () => {
    const limiter = create({})
    await expect(limiter.block('k', 0)).rejects.toThrow(
      /blocking forever is not supported; use delete\(key\)/,
    )
    await expect(limiter.consume('k', 1, { customDuration: 5 } as never)).rejects.toThrow(/customDuration/)
  })

  it('counts never go below zero: a reward on an empty key gives nothing extra', async () => {
    const limiter = create({ points: 2 })
    expect((await limiter.reward('k', 3)).toJSON()).toEqual({
      remainingPoints: 2,
      msBeforeNext: 0,
      consumedPoints: 0,
      isFirstInDuration: false,
    })
    await limiter.consume('k')
    await limiter.consume('k')
    await expect(limiter.consume('k')).rejects.toBeInstanceOf(RateLimiterRes)
  })

  it('deleteInMemoryBlockedAll lifts the in-memory blocks of this process', async () => {
    const limiter = create({ points: 1, inMemoryBlockOnConsumed: 1 })
    await limiter.consume('k')
    await expect(limiter.consume('k')).rejects.toMatchObject({ consumedPoints: 0 })
    limiter.deleteInMemoryBlockedAll()
    // Back to the store, which counts the consume (and blocks again in memory).
    await expect(limiter.consume('k')).rejects.toMatchObject({ consumedPoints: 2 })
  })
})
