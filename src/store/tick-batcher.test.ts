import { describe, expect, it } from 'vitest'
import { TickBatcher } from './tick-batcher.js'

describe('TickBatcher', () => {
  it('sends the calls of one tick together, in order, and splits at maxBatch', async () => {
    const sent: number[][] = []
    const batcher = new TickBatcher(async (items: number[]) => {
      sent.push(items)
      return items.map((item) => item * 10)
    }, 3)
    const replies = await Promise.all([1, 2, 3, 4, 5].map((item) => batcher.add(item)))
    expect(replies).toEqual([10, 20, 30, 40, 50])
    expect(sent).toEqual([
      [1, 2, 3],
      [4, 5],
    ])
    // A later tick is a new batch.
    expect(await batcher.add(6)).toBe(60)
    expect(sent).toHaveLength(3)
  })

  it('fails every call of a batch when sending fails or the replies do not match the calls', async () => {
    const failing = new TickBatcher(async () => {
      throw new Error('down')
    }, 10)
    const failed = await Promise.allSettled([failing.add('a'), failing.add('b')])
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected'])

    const short = new TickBatcher(async () => [1], 10)
    const results = await Promise.allSettled([short.add('a'), short.add('b')])
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected'])
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(TypeError)
  })
})
