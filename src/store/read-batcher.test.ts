import { describe, expect, it } from 'vitest'
import { MemoryStore } from './memory/memory-store.js'
import { ReadBatcher } from './read-batcher.js'
import type { Store } from './store.js'

/** A store that records which read commands it received. */
function recording(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = []
  const proxy = Object.create(store) as Store
  proxy.get = (key) => {
    calls.push(`get ${key}`)
    return store.get(key)
  }
  proxy.mget = (keys) => {
    calls.push(`mget ${keys.length}`)
    return store.mget(keys)
  }
  return { store: proxy, calls }
}

describe('ReadBatcher', () => {
  it('turns the reads of one tick into one MGET, in order, including duplicates', async () => {
    const memory = new MemoryStore()
    await memory.mset([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ])
    const { store, calls } = recording(memory)
    const batcher = new ReadBatcher(store)
    const values = await Promise.all(['a', 'b', 'missing', 'a'].map((key) => batcher.get(key)))
    expect(values).toEqual(['1', '2', null, '1'])
    expect(calls).toEqual(['mget 4'])
    await memory.close()
  })

  it('uses GET for a lone read, and reads issued in microtasks of the same turn join the batch', async () => {
    const memory = new MemoryStore()
    await memory.set('k', 'v')
    const { store, calls } = recording(memory)
    const batcher = new ReadBatcher(store)
    expect(await batcher.get('k')).toBe('v')
    expect(calls).toEqual(['get k'])
    calls.length = 0
    const chained = Promise.resolve().then(() => batcher.get('k'))
    const direct = batcher.get('k')
    expect(await Promise.all([direct, chained])).toEqual(['v', 'v'])
    expect(calls).toEqual(['mget 2'])
    await memory.close()
  })

  it('splits at maxBatch and passes a failure to every waiter of the batch', async () => {
    const memory = new MemoryStore()
    const { store, calls } = recording(memory)
    const batcher = new ReadBatcher(store, 3)
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((key) => batcher.get(key)))
    expect(calls).toEqual(['mget 3', 'mget 2'])
    const failing = Object.create(memory) as Store
    failing.mget = () => Promise.reject(new Error('down'))
    const broken = new ReadBatcher(failing)
    const results = await Promise.allSettled([broken.get('x'), broken.get('y')])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    await memory.close()
  })
})
