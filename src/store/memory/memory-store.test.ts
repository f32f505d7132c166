// Unit tests of MemoryStore for what the store contract cannot reach: the injected clock, the sweep,
// close, listener errors, script reply conversion and the Redis edge semantics the store mirrors.

import { afterEach, describe, expect, it, vi } from 'vitest'
import { InvalidOptionsError, RedkitClosedError, ScriptError } from '../../errors.js'
import type { MemoryScriptContext, ScriptDefinition, ScriptReply } from '../store.js'
import { MemoryStore, type MemoryStoreOptions } from './memory-store.js'

const stores: MemoryStore[] = []

/** A store on a hand-driven clock; the sweep is off unless a test asks for it. */
function makeStore(options: MemoryStoreOptions = {}): { store: MemoryStore; clock: { now: number } } {
  const clock = { now: 1_000_000 }
  const store = new MemoryStore({ sweepIntervalMs: 0, now: () => clock.now, ...options })
  stores.push(store)
  return { store, clock }
}

async function collect(batches: AsyncIterable<string[]>): Promise<string[]> {
  const all: string[] = []
  for await (const batch of batches) all.push(...batch)
  return all
}

function twin(name: string, memory: ScriptDefinition['memory']): ScriptDefinition {
  return { name, lua: `-- ${name}`, memory }
}

afterEach(async () => {
  vi.useRealTimers()
  vi.restoreAllMocks()
  await Promise.all(stores.splice(0).map((store) => store.close()))
})

describe('MemoryStore options', () => {
  it('is in memory mode', () => {
    expect(makeStore().store.mode).toBe('memory')
  })

  it.each<[string, MemoryStoreOptions]>([
    ['negative sweepIntervalMs', { sweepIntervalMs: -1 }],
    ['infinite sweepIntervalMs', { sweepIntervalMs: Number.POSITIVE_INFINITY }],
    ['zero sweepMaxKeys', { sweepMaxKeys: 0 }],
    ['fractional sweepMaxKeys', { sweepMaxKeys: 1.5 }],
    ['a clock that is not a function', { now: 5 as unknown as () => number }],
  ])('rejects %s at construction', (_label, options) => {
    expect(() => new MemoryStore(options)).toThrow(InvalidOptionsError)
  })

  it('sweeps on a timer that does not keep the process alive', () => {
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval')
    const store = new MemoryStore()
    stores.push(store)
    expect(setIntervalSpy).toHaveBeenCalledTimes(1)
    expect(setIntervalSpy.mock.calls[0]![1]).toBe(1000)
    const timer = setIntervalSpy.mock.results[0]!.value as NodeJS.Timeout
    expect(timer.hasRef()).toBe(false)
  })

  it('starts no timer when the sweep is turned off', () => {
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval')
    makeStore({ sweepIntervalMs: 0 })
    expect(setIntervalSpy).not.toHaveBeenCalled()
  })
})

describe('MemoryStore time', () => {
  it('expires on the injected clock, exactly after the TTL (Redis: expired once now > expiry)', async () => {
    const { store, clock } = makeStore()
    await store.set('k', 'v', { ttlMs: 1000 })
    clock.now += 999
    expect(await store.pttl('k')).toBe(1)
    clock.now += 1
    expect(await store.pttl('k')).toBe(0)
    expect(await store.get('k')).toBe('v')
    clock.now += 1
    expect(await store.get('k')).toBeNull()
    expect(await store.pttl('k')).toBe(-2)
  })

  it('rounds a fractional TTL up, so a tiny TTL still expires', async () => {
    const { store, clock } = makeStore()
    await store.set('k', 'v', { ttlMs: 0.4 })
    expect(await store.pttl('k')).toBe(1)
    clock.now += 2
    expect(await store.get('k')).toBeNull()
  })

  it('rejects a negative or non-finite TTL', async () => {
    const { store } = makeStore()
    await expect(store.set('k', 'v', { ttlMs: -1 })).rejects.toThrow(/invalid expire time/)
    await expect(store.incrBy('k', 1, Number.NaN)).rejects.toThrow(/invalid expire time/)
    await expect(
      store.mset([
        { key: 'a', value: '1' },
        { key: 'b', value: '2', ttlMs: -5 },
      ]),
    ).rejects.toThrow(/invalid expire time/)
    // The bad entry made the whole mset fail before anything was written.
    expect(await store.exists(['a', 'b'])).toBe(0)
  })

  it('deletes the key when pexpire gets a TTL of 0 or less, like PEXPIRE', async () => {
    const { store } = makeStore()
    await store.set('a', 'v')
    await store.set('b', 'v')
    expect(await store.pexpire('a', 0)).toBe(true)
    expect(await store.pexpire('b', -100)).toBe(true)
    expect(await store.exists(['a', 'b'])).toBe(0)
    expect(await store.pexpire('a', 0)).toBe(false)
  })

  it('hides expired keys from every read and from scan', async () => {
    const { store, clock } = makeStore()
    await store.set('s', 'v', { ttlMs: 10 })
    await store.sadd('set', ['m'], 10)
    await store.hset('hash', { f: 'v' }, 10)
    await store.set('live', 'v')
    clock.now += 11
    expect(await store.mget(['s', 'live'])).toEqual([null, 'v'])
    expect(await store.sismember('set', 'm')).toBe(false)
    expect(await store.hgetall('hash')).toEqual({})
    expect(await store.exists(['s', 'set', 'hash', 'live'])).toBe(1)
    expect(await collect(store.scan())).toEqual(['live'])
  })

  it('gives scripts one frozen time for the whole run', async () => {
    let ticks = 0
    const { store } = makeStore({ now: () => 1_000_000 + ticks++ * 1000 })
    await store.set('k', 'v', { ttlMs: 1500 })
    store.defineScript(
      twin('frozen', (context) => {
        const first = context.timeMs()
        const pttls = [context.pttl('k'), context.pttl('k'), context.pttl('k')]
        return [context.timeMs() - first, ...pttls]
      }),
    )
    // Every call of the clock advances 1 s; inside the script, nothing moves.
    expect(await store.runScript('frozen', [], [])).toEqual([0, 500, 500, 500])
  })
})

describe('MemoryStore sweep', () => {
  it('frees the memory of expired keys nobody reads again', async () => {
    vi.useFakeTimers()
    const clock = { now: 0 }
    const store = new MemoryStore({ sweepIntervalMs: 100, now: () => clock.now })
    stores.push(store)
    await store.mset(Array.from({ length: 500 }, (_, i) => ({ key: `short:${i}`, value: 'v', ttlMs: 50 })))
    await store.mset(Array.from({ length: 100 }, (_, i) => ({ key: `long:${i}`, value: 'v', ttlMs: 60_000 })))
    await store.mset(Array.from({ length: 100 }, (_, i) => ({ key: `plain:${i}`, value: 'v' })))
    expect(store.size).toBe(700)

    clock.now = 1000
    vi.advanceTimersByTime(100)
    expect(store.size).toBe(200)
    expect(await store.exists(['long:0', 'plain:0'])).toBe(2)
  })

  it('examines a bounded number of keys per tick and resumes where it stopped', async () => {
    vi.useFakeTimers()
    const clock = { now: 0 }
    const store = new MemoryStore({ sweepIntervalMs: 100, sweepMaxKeys: 300, now: () => clock.now })
    stores.push(store)
    await store.mset(Array.from({ length: 1000 }, (_, i) => ({ key: `k:${i}`, value: 'v', ttlMs: 10 })))
    clock.now = 100
    vi.advanceTimersByTime(100)
    expect(store.size).toBe(700)
    vi.advanceTimersByTime(100)
    expect(store.size).toBe(400)
    vi.advanceTimersByTime(200)
    expect(store.size).toBe(0)
  })

  it('stops sweeping when closed', async () => {
    vi.useFakeTimers()
    const store = new MemoryStore({ sweepIntervalMs: 100 })
    expect(vi.getTimerCount()).toBe(1)
    await store.close()
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('MemoryStore values', () => {
  it('keeps stored bytes apart from the caller’s buffers', async () => {
    const { store } = makeStore()
    const input = Buffer.from('abc')
    await store.set('k', input)
    input[0] = 0x7a
    const first = (await store.getBuffer('k'))!
    first[1] = 0x7a
    expect(await store.get('k')).toBe('abc')
    const [fromMget] = await store.mgetBuffer(['k'])
    fromMget![2] = 0x7a
    expect(await store.get('k')).toBe('abc')
  })

  it('stores text as UTF-8, so a lone surrogate reads back as U+FFFD like on Redis', async () => {
    const { store } = makeStore()
    await store.set('k', 'a\ud800b')
    expect(await store.get('k')).toBe('a\ufffdb')
    expect(await store.getBuffer('k')).toEqual(Buffer.from('a\ufffdb'))
  })

  it('reads keys of another type as null in mget, like MGET', async () => {
    const { store } = makeStore()
    await store.sadd('set', ['m'])
    await store.set('text', 't')
    expect(await store.mget(['set', 'text'])).toEqual([null, 't'])
    expect(await store.mgetBuffer(['set'])).toEqual([null])
  })

  it('counts a key named twice twice in exists, like EXISTS', async () => {
    const { store } = makeStore()
    await store.set('k', 'v')
    expect(await store.exists(['k', 'k', 'missing'])).toBe(2)
  })

  it('explains WRONGTYPE and tags it with a stable code', async () => {
    const { store } = makeStore()
    await store.sadd('members', ['m'])
    const error = await store.get('members').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(/^WRONGTYPE .*'members' holds a set/)
    expect((error as { code?: string }).code).toBe('REDKIT_COMMAND')
  })

  it('checks the type even when there is nothing to add', async () => {
    const { store } = makeStore()
    await store.set('text', 't')
    await expect(store.sadd('text', [])).rejects.toThrow(/WRONGTYPE/)
    await expect(store.hset('text', {})).rejects.toThrow(/WRONGTYPE/)
    expect(await store.sadd('new', [])).toBe(0)
    expect(await store.exists(['new'])).toBe(0)
  })

  it('counts beyond 2^53 exactly and refuses to overflow 64 bits', async () => {
    const { store } = makeStore()
    await store.set('big', '9007199254740993')
    await store.incrBy('big', 1)
    expect(await store.get('big')).toBe('9007199254740994')
    await store.set('max', '9223372036854775806')
    await store.incrBy('max', 1)
    expect(await store.get('max')).toBe('9223372036854775807')
    await expect(store.incrBy('max', 1)).rejects.toThrow(/overflow/)
    expect(await store.get('max')).toBe('9223372036854775807')
  })

  it('rejects an increment that is not an integer', async () => {
    const { store } = makeStore()
    await expect(store.incrBy('k', 1.5)).rejects.toThrow(/not an integer/)
    expect(await store.exists(['k'])).toBe(0)
  })

  it('keeps hash fields named like Object.prototype members as data', async () => {
    const { store } = makeStore()
    await store.hset('h', JSON.parse('{"__proto__":"p","toString":"t"}') as Record<string, string>)
    const all = await store.hgetall('h')
    expect(Object.keys(all).sort()).toEqual(['__proto__', 'toString'])
    expect(Object.getPrototypeOf(all)).toBe(Object.prototype)
  })
})

describe('MemoryStore scan', () => {
  it('gives the event loop a turn between batches', async () => {
    const { store } = makeStore()
    await store.mset(Array.from({ length: 50 }, (_, i) => ({ key: `k:${i}`, value: 'v' })))
    let turns = 0
    const interval = setInterval(() => turns++, 0)
    const turnsPerBatch: number[] = []
    try {
      for await (const batch of store.scan({ count: 10 })) {
        expect(batch.length).toBeLessThanOrEqual(10)
        turnsPerBatch.push(turns)
      }
    } finally {
      clearInterval(interval)
    }
    expect(turnsPerBatch).toHaveLength(5)
    expect(turnsPerBatch.at(-1)).toBeGreaterThan(turnsPerBatch[0]!)
  })

  it('rejects a count that is not a positive integer', async () => {
    const { store } = makeStore()
    await expect(collect(store.scan({ count: 0 }))).rejects.toThrow(InvalidOptionsError)
    await expect(collect(store.sscan('k', { count: 2.5 }))).rejects.toThrow(InvalidOptionsError)
  })

  it('walks a set recreated during sscan from its start', async () => {
    const { store } = makeStore()
    await store.sadd('s', ['a', 'b', 'c', 'd'])
    const seen: string[] = []
    let recreated = false
    for await (const batch of store.sscan('s', { count: 2 })) {
      seen.push(...batch)
      if (!recreated) {
        recreated = true
        await store.del(['s'])
        await store.sadd('s', ['x', 'y'])
      }
    }
    expect(seen.slice(2).sort()).toEqual(['x', 'y'])
  })

  it('ends sscan when the set disappears mid-walk', async () => {
    const { store } = makeStore()
    await store.sadd('s', ['a', 'b', 'c', 'd'])
    const batches: string[][] = []
    for await (const batch of store.sscan('s', { count: 2 })) {
      batches.push(batch)
      await store.del(['s'])
    }
    expect(batches).toHaveLength(1)
  })
})

describe('MemoryStore scripts', () => {
  it('rejects an unknown name with ScriptError', async () => {
    const { store } = makeStore()
    await expect(store.runScript('missing', [], [])).rejects.toThrow(ScriptError)
    await expect(store.runScript('missing', [], [])).rejects.toThrow(/defineScript/)
  })

  it('wraps what a twin throws in ScriptError, keeping the cause', async () => {
    const { store } = makeStore()
    const cause = new Error('boom')
    store.defineScript(
      twin('throws', () => {
        throw cause
      }),
    )
    const error = await store.runScript('throws', [], []).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ScriptError)
    expect((error as ScriptError).message).toContain('boom')
    expect((error as ScriptError).cause).toBe(cause)
  })

  it('keeps the writes made before a twin failed, as Redis keeps those of a failed script', async () => {
    const { store } = makeStore()
    store.defineScript(
      twin('half', (context, keys) => {
        context.set(keys[0]!, 'written')
        throw new Error('after the write')
      }),
    )
    await expect(store.runScript('half', ['k'], [])).rejects.toThrow(ScriptError)
    expect(await store.get('k')).toBe('written')
  })

  it('refuses a twin that returns a Promise', async () => {
    const { store } = makeStore()
    store.defineScript(twin('async', (async () => 1) as unknown as ScriptDefinition['memory']))
    await expect(store.runScript('async', [], [])).rejects.toThrow(/synchronous/)
  })

  it('accepts the same Lua twice and refuses another script under a used name', () => {
    const { store } = makeStore()
    const definition = twin('name', () => null)
    store.defineScript(definition)
    store.defineScript({ ...definition, memory: () => 1 })
    expect(() => store.defineScript({ ...definition, lua: 'return 2' })).toThrow(ScriptError)
  })

  it('passes keys and arguments as strings and cannot be affected by later changes to them', async () => {
    const { store } = makeStore()
    let seen: unknown
    store.defineScript(
      twin('echo', (_context, keys, args) => {
        seen = { keys, args }
        return [...keys, ...args]
      }),
    )
    const keys = ['k1', 'k2']
    expect(await store.runScript('echo', keys, [1, 2.5, 'x'])).toEqual(['k1', 'k2', '1', '2.5', 'x'])
    keys.push('k3')
    expect(seen).toEqual({ keys: ['k1', 'k2'], args: ['1', '2.5', 'x'] })
  })

  it('runs every context command with Redis semantics', async () => {
    const { store } = makeStore()
    const replies: unknown[] = []
    store.defineScript(
      twin('all', (context: MemoryScriptContext) => {
        replies.push(
          context.set('s', '1', { condition: 'NX' }),
          context.set('s', '2', { condition: 'NX' }),
          context.incrBy('s', 4),
          context.incrByFloat('f', 0.1),
          context.incrByFloat('f', 0.2),
          context.get('f'),
          context.incrByFloat('f', -0.3),
          context.get('f'),
          context.pexpire('s', 5000),
          context.pttl('s'),
          context.persist('s'),
          context.persist('s'),
          context.pttl('s'),
          context.sadd('set', ['a', 'b']),
          context.srem('set', ['a']),
          context.sismember('set', 'b'),
          context.scard('set'),
          context.hset('h', { a: '1' }),
          context.hincrBy('h', 'a', 9),
          context.hincrBy('h', 'new', -2),
          context.hget('h', 'a'),
          context.hget('h', 'missing'),
          context.hdel('h', ['new']),
          context.hgetall('h'),
          context.exists('h'),
          context.del('h'),
          context.exists('h'),
        )
        return null
      }),
    )
    await store.runScript('all', [], [])
    expect(replies).toEqual([
      true,
      false,
      5,
      0.1,
      0.3,
      '0.3',
      0,
      '0',
      true,
      5000,
      true,
      false,
      -1,
      2,
      1,
      true,
      1,
      1,
      10,
      -2,
      '10',
      null,
      1,
      { a: '10' },
      true,
      1,
      false,
    ])
  })

  it('refuses hincrBy and incrByFloat on values that are not numbers', async () => {
    const { store } = makeStore()
    await store.hset('h', { f: 'x' })
    await store.set('s', 'abc')
    store.defineScript(twin('hincr', (context) => context.hincrBy('h', 'f', 1)))
    store.defineScript(twin('float', (context) => context.incrByFloat('s', 1)))
    await expect(store.runScript('hincr', [], [])).rejects.toThrow(/hash value is not an integer/)
    await expect(store.runScript('float', [], [])).rejects.toThrow(/not a valid float/)
  })

  it.each<[string, unknown, ScriptReply]>([
    ['truncates toward zero', [1.9, -1.9, -0.5], [1, -1, 0]],
    ['turns false and undefined into nil, true into 1', [false, true, null], [null, 1, null]],
    ['ends an array at its first undefined, like a Lua nil', [1, undefined, 3], [1]],
    ['returns the text of a status reply', { ok: 'OK' }, 'OK'],
    ['decodes a Buffer', Buffer.from('bytes'), 'bytes'],
    ['returns nil for undefined', undefined, null],
  ])('converts the reply like Redis: %s', async (_label, value, expected) => {
    const { store } = makeStore()
    store.defineScript(twin('reply', () => value as ScriptReply))
    expect(await store.runScript('reply', [], [])).toEqual(expected)
  })

  it('rejects an error reply and values Redis could not give', async () => {
    const { store } = makeStore()
    store.defineScript(twin('err', () => ({ err: 'ERR custom' }) as unknown as ScriptReply))
    store.defineScript(twin('nan', () => Number.NaN))
    store.defineScript(twin('object', () => ({ some: 'thing' }) as unknown as ScriptReply))
    await expect(store.runScript('err', [], [])).rejects.toThrow(/ERR custom/)
    await expect(store.runScript('nan', [], [])).rejects.toThrow(ScriptError)
    await expect(store.runScript('object', [], [])).rejects.toThrow(/unsupported/)
  })
})

describe('MemoryStore pub/sub', () => {
  it('never delivers inside publish', async () => {
    const { store } = makeStore()
    const received: string[] = []
    await store.subscribe('c', (message) => received.push(message))
    await store.publish('c', 'm')
    expect(received).toEqual([])
    await vi.waitFor(() => expect(received).toEqual(['m']))
  })

  it('delivers in publish order', async () => {
    const { store } = makeStore()
    const received: string[] = []
    await store.subscribe('c', (message) => received.push(message))
    const messages = Array.from({ length: 100 }, (_, i) => `m${i}`)
    for (const message of messages) await store.publish('c', message)
    await vi.waitFor(() => expect(received).toEqual(messages))
  })

  it('hands listener errors to onListenerError and goes on', async () => {
    const errors: [unknown, string][] = []
    const { store } = makeStore({ onListenerError: (error, channel) => errors.push([error, channel]) })
    const failure = new Error('listener failed')
    const received: string[] = []
    await store.subscribe('c', () => {
      throw failure
    })
    await store.subscribe('c', (message) => received.push(message))
    await store.publish('c', 'm')
    await vi.waitFor(() => expect(received).toEqual(['m']))
    expect(errors).toEqual([[failure, 'c']])
  })

  it('survives an onListenerError that throws', async () => {
    const { store } = makeStore({
      onListenerError: () => {
        throw new Error('handler failed')
      },
    })
    const received: string[] = []
    await store.subscribe('c', () => {
      throw new Error('listener failed')
    })
    await store.subscribe('c', (message) => received.push(message))
    await store.publish('c', 'm')
    await vi.waitFor(() => expect(received).toEqual(['m']))
  })

  it('treats each subscribe as its own subscription, even for the same function', async () => {
    const { store } = makeStore()
    const received: string[] = []
    const listener = (message: string): void => {
      received.push(message)
    }
    const first = await store.subscribe('c', listener)
    await store.subscribe('c', listener)
    await store.publish('c', 'one')
    await vi.waitFor(() => expect(received).toEqual(['one', 'one']))
    await first()
    await store.publish('c', 'two')
    await vi.waitFor(() => expect(received).toEqual(['one', 'one', 'two']))
  })

  it('does not deliver a queued message to a listener that unsubscribed meanwhile', async () => {
    const { store } = makeStore()
    const removed: string[] = []
    const kept: string[] = []
    const unsubscribe = await store.subscribe('c', (message) => removed.push(message))
    await store.subscribe('c', (message) => kept.push(message))
    await store.publish('c', 'm')
    await unsubscribe()
    await vi.waitFor(() => expect(kept).toEqual(['m']))
    expect(removed).toEqual([])
  })

  it('does not deliver a message published before the subscription', async () => {
    const { store } = makeStore()
    const early: string[] = []
    const late: string[] = []
    await store.subscribe('c', (message) => early.push(message))
    await store.publish('c', 'first')
    await store.subscribe('c', (message) => late.push(message))
    await store.publish('c', 'second')
    await vi.waitFor(() => expect(early).toEqual(['first', 'second']))
    expect(late).toEqual(['second'])
  })

  it('never fires onSubscriberReconnect', () => {
    const { store } = makeStore()
    const listener = vi.fn()
    const remove = store.onSubscriberReconnect(listener)
    remove()
    expect(listener).not.toHaveBeenCalled()
  })
})

describe('MemoryStore close', () => {
  it('is idempotent and makes every later call reject with RedkitClosedError', async () => {
    const { store } = makeStore()
    await store.close()
    await store.close()
    const calls: (() => Promise<unknown>)[] = [
      () => store.get('k'),
      () => store.getBuffer('k'),
      () => store.set('k', 'v'),
      () => store.mget(['k']),
      () => store.mgetBuffer(['k']),
      () => store.mset([]),
      () => store.del(['k']),
      () => store.exists(['k']),
      () => store.pttl('k'),
      () => store.pexpire('k', 1),
      () => store.incrBy('k', 1),
      () => store.sadd('k', ['m']),
      () => store.srem('k', ['m']),
      () => store.sismember('k', 'm'),
      () => store.scard('k'),
      () => collect(store.sscan('k')),
      () => store.hset('k', { f: 'v' }),
      () => store.hgetall('k'),
      () => store.hdel('k', ['f']),
      () => collect(store.scan()),
      () => store.runScript('any', [], []),
      () => store.publish('c', 'm'),
      () => store.subscribe('c', () => {}),
      () => store.ping(),
    ]
    for (const call of calls) await expect(call()).rejects.toThrow(RedkitClosedError)
    expect(() => store.defineScript(twin('late', () => null))).toThrow(RedkitClosedError)
  })

  it('drops the data', async () => {
    const { store } = makeStore()
    await store.set('k', 'v')
    await store.close()
    expect(store.size).toBe(0)
  })

  it('ends a scan that is under way', async () => {
    const { store } = makeStore()
    await store.mset(Array.from({ length: 20 }, (_, i) => ({ key: `k:${i}`, value: 'v' })))
    const walk = async (): Promise<void> => {
      for await (const _batch of store.scan({ count: 5 })) await store.close()
    }
    await expect(walk()).rejects.toThrow(RedkitClosedError)
  })

  it('drops messages still queued and lets listeners unsubscribe afterwards', async () => {
    const { store } = makeStore()
    const received: string[] = []
    const unsubscribe = await store.subscribe('c', (message) => received.push(message))
    await store.publish('c', 'queued')
    await store.close()
    await new Promise((resolve) => setImmediate(resolve))
    expect(received).toEqual([])
    await expect(unsubscribe()).resolves.toBeUndefined()
  })

  it('pings in about no time while open', async () => {
    const { store } = makeStore()
    const rtt = await store.ping()
    expect(rtt).toBeGreaterThanOrEqual(0)
    expect(rtt).toBeLessThan(50)
  })
})
