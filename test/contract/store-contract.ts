// The behaviour every Store must show, as one vitest suite: MemoryStore, RedisStore and Cluster run it.
// Keys live under the given prefix and spread over many hash slots; waits poll with deadlines, no order assumed.

import { Buffer } from 'node:buffer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ScriptError } from '../../src/errors.js'
import type { MemoryScriptContext, ScriptDefinition, Store } from '../../src/store/store.js'
import { waitFor } from '../harness/wait-for.js'

/** What a contract run needs: a store, the prefix its keys may use, and how to clean up. */
export interface StoreContractSetup {
  store: Store
  /**
   * Every key and channel the suite uses starts with this. It must not contain a `{hash tag}`,
   * or every key would land in one Cluster slot.
   */
  prefix: string
  teardown(): Promise<void>
}

/** Escapes glob metacharacters so the text matches itself only (kept here: the suite tests stores, not helpers). */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

async function collect(batches: AsyncIterable<string[]>): Promise<string[]> {
  const all: string[] = []
  for await (const batch of batches) {
    expect(Array.isArray(batch)).toBe(true)
    all.push(...batch)
  }
  return all
}

/** Collected, deduplicated (SCAN may return a key twice) and sorted. */
async function collectSet(batches: AsyncIterable<string[]>): Promise<string[]> {
  return [...new Set(await collect(batches))].sort()
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index)
}

const SHORT_TTL_MS = 150

/** Waits until a key is gone (expired), polling with a deadline instead of sleeping. */
async function waitUntilGone(store: Store, key: string): Promise<void> {
  await waitFor(async () => (await store.pttl(key)) === -2, {
    timeoutMs: 3000,
    intervalMs: 20,
    message: `${key} to expire`,
  })
}

// Scripts the contract runs on every store. Each twin mirrors its Lua exactly, including the
// conversions Redis applies to a Lua reply (numbers truncated, false → nil, tables → arrays).

const compareAndDelete: ScriptDefinition = {
  name: 'contract.compareAndDelete',
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
  memory: (context, keys, args) => (context.get(keys[0]!) === args[0] ? context.del(keys[0]!) : 0),
}

const windowCounter: ScriptDefinition = {
  name: 'contract.windowCounter',
  lua: `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return { count, redis.call('PTTL', KEYS[1]) / 1000 }
`,
  memory: (context, keys, args) => {
    const key = keys[0]!
    const count = context.incrBy(key, Number(args[0]))
    if (context.pttl(key) === -1) context.pexpire(key, Number(args[1]))
    return [count, context.pttl(key) / 1000]
  },
}

const shapes: ScriptDefinition = {
  name: 'contract.shapes',
  lua: `
local missing = redis.call('GET', KEYS[1])
return { 'a', 42, -2.7, 3.9, { 'nested', { 1, 2 }, {} }, missing, ARGV[1], #ARGV, '' }
`,
  memory: (context, keys, args) => [
    'a',
    42,
    -2.7,
    3.9,
    ['nested', [1, 2], []],
    context.get(keys[0]!),
    args[0]!,
    args.length,
    '',
  ],
}

const echoArgs: ScriptDefinition = {
  name: 'contract.echoArgs',
  lua: 'return ARGV',
  memory: (_context, _keys, args) => [...args],
}

const getValue: ScriptDefinition = {
  name: 'contract.getValue',
  lua: `return redis.call('GET', KEYS[1])`,
  memory: (context, keys) => context.get(keys[0]!),
}

/** Packs two numbers as little-endian doubles after the bytes of a key: a reply that is not UTF-8. */
const packed: ScriptDefinition = {
  name: 'contract.packed',
  lua: `return (redis.call('GET', KEYS[1]) or '') .. struct.pack('<dd', tonumber(ARGV[1]), tonumber(ARGV[2]))`,
  memory: (context, keys, args) => {
    const numbers = Buffer.alloc(16)
    numbers.writeDoubleLE(Number(args[0]), 0)
    numbers.writeDoubleLE(Number(args[1]), 8)
    return Buffer.concat([Buffer.from(context.get(keys[0]!) ?? '', 'utf8'), numbers])
  },
  binaryReply: true,
}

const serverTime: ScriptDefinition = {
  name: 'contract.serverTime',
  lua: `
local time = redis.call('TIME')
return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`,
  memory: (context) => context.timeMs(),
}

const transfer: ScriptDefinition = {
  name: 'contract.transfer',
  lua: `
local balance = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if balance < amount then
  return { 0, balance }
end
redis.call('INCRBY', KEYS[1], -amount)
local credited = redis.call('INCRBY', KEYS[2], amount)
return { 1, balance - amount, credited }
`,
  memory: (context: MemoryScriptContext, keys, args) => {
    const balance = Number(context.get(keys[0]!) ?? '0')
    const amount = Number(args[0])
    if (balance < amount) return [0, balance]
    context.incrBy(keys[0]!, -amount)
    const credited = context.incrBy(keys[1]!, amount)
    return [1, balance - amount, credited]
  },
}

const failing: ScriptDefinition = {
  name: 'contract.failing',
  lua: `return redis.error_reply('contract failure')`,
  memory: () => {
    throw new Error('contract failure')
  },
}

const contractScripts = [
  compareAndDelete,
  windowCounter,
  shapes,
  echoArgs,
  getValue,
  packed,
  serverTime,
  transfer,
  failing,
]

/**
 * Defines the store contract suite: the observable behaviour every {@link Store} must have,
 * whatever runs behind it. `setup` is called once for the suite (it may start servers) and
 * `teardown` once at the end; each test works in its own key namespace under the prefix.
 *
 * @example
 * storeContract('MemoryStore', async () => {
 *   const store = new MemoryStore()
 *   return { store, prefix: 'contract:', teardown: () => store.close() }
 * })
 */
export function storeContract(name: string, setup: () => Promise<StoreContractSetup>): void {
  describe(`Store contract: ${name}`, () => {
    let context: StoreContractSetup | undefined
    let namespaces = 0

    beforeAll(async () => {
      context = await setup()
      for (const script of contractScripts) context.store.defineScript(script)
    })

    afterAll(async () => {
      await context?.teardown()
    })

    const store = (): Store => {
      if (context === undefined) throw new Error('the contract setup did not complete')
      return context.store
    }
    /** A fresh key namespace for one test; keys built from it hash to many slots. */
    const namespace = (label: string): string => `${context!.prefix}${label}.${++namespaces}:`

    describe('strings', () => {
      it('reads null for a missing key', async () => {
        const key = `${namespace('missing')}nothing`
        expect(await store().get(key)).toBeNull()
        expect(await store().getBuffer(key)).toBeNull()
      })

      it('round-trips unicode text', async () => {
        const key = `${namespace('unicode')}text`
        const text = 'héllo wörld — 日本語 ✓ 🎉 \u0000 end'
        expect(await store().set(key, text)).toBe(true)
        expect(await store().get(key)).toBe(text)
        expect(await store().getBuffer(key)).toEqual(Buffer.from(text, 'utf8'))
      })

      it('keeps the empty string apart from a missing key', async () => {
        const key = `${namespace('empty')}value`
        await store().set(key, '')
        expect(await store().get(key)).toBe('')
        const bytes = await store().getBuffer(key)
        expect(Buffer.isBuffer(bytes)).toBe(true)
        expect(bytes!.length).toBe(0)
        expect(await store().exists([key])).toBe(1)
      })

      it('is binary-safe: every byte value and invalid UTF-8 come back unchanged', async () => {
        const key = `${namespace('binary')}bytes`
        const bytes = Buffer.concat([
          Buffer.from(range(256)),
          Buffer.from([0x00, 0x00, 0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0x80, 0xf0, 0x28, 0x8c]),
        ])
        await store().set(key, bytes)
        expect(await store().getBuffer(key)).toEqual(bytes)
        // As text, invalid sequences decode the way Node decodes them (U+FFFD).
        expect(await store().get(key)).toBe(bytes.toString('utf8'))
      })

      it('round-trips a large value', async () => {
        const key = `${namespace('large')}blob`
        const bytes = Buffer.alloc(512 * 1024)
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251
        await store().set(key, bytes)
        expect((await store().getBuffer(key))!.equals(bytes)).toBe(true)
      })

      it('hands out buffers that do not alias the stored value', async () => {
        const key = `${namespace('alias')}bytes`
        const input = Buffer.from('original')
        await store().set(key, input)
        input.write('XXXXXXXX')
        const first = (await store().getBuffer(key))!
        first.write('YYYYYYYY')
        expect(await store().get(key)).toBe('original')
      })

      it('overwrites with a plain set', async () => {
        const key = `${namespace('overwrite')}value`
        expect(await store().set(key, 'one')).toBe(true)
        expect(await store().set(key, 'two')).toBe(true)
        expect(await store().get(key)).toBe('two')
      })

      it('honours NX: writes only a missing key', async () => {
        const key = `${namespace('nx')}value`
        expect(await store().set(key, 'first', { condition: 'NX' })).toBe(true)
        expect(await store().set(key, 'second', { condition: 'NX' })).toBe(false)
        expect(await store().get(key)).toBe('first')
      })

      it('honours XX: writes only an existing key', async () => {
        const key = `${namespace('xx')}value`
        expect(await store().set(key, 'first', { condition: 'XX' })).toBe(false)
        expect(await store().get(key)).toBeNull()
        await store().set(key, 'first')
        expect(await store().set(key, 'second', { condition: 'XX' })).toBe(true)
        expect(await store().get(key)).toBe('second')
      })

      it('treats an expired key as missing for NX and XX', async () => {
        const key = `${namespace('nx-expired')}value`
        await store().set(key, 'old', { ttlMs: 50 })
        await waitUntilGone(store(), key)
        expect(await store().set(key, 'again', { condition: 'XX' })).toBe(false)
        expect(await store().set(key, 'new', { condition: 'NX', ttlMs: 60_000 })).toBe(true)
        expect(await store().get(key)).toBe('new')
        expect(await store().pttl(key)).toBeGreaterThan(0)
      })
    })

    describe('expiry', () => {
      it('reports -2 for a missing key, -1 without expiry, the remaining ms otherwise', async () => {
        const ns = namespace('pttl')
        expect(await store().pttl(`${ns}missing`)).toBe(-2)
        await store().set(`${ns}forever`, 'v')
        expect(await store().pttl(`${ns}forever`)).toBe(-1)
        await store().set(`${ns}ttl`, 'v', { ttlMs: 10_000 })
        const remaining = await store().pttl(`${ns}ttl`)
        expect(remaining).toBeGreaterThan(8_000)
        expect(remaining).toBeLessThanOrEqual(10_000)
      })

      it('expires a key after its TTL', async () => {
        const key = `${namespace('expire')}value`
        await store().set(key, 'soon gone', { ttlMs: SHORT_TTL_MS })
        expect(await store().get(key)).toBe('soon gone')
        await waitFor(async () => (await store().get(key)) === null, { timeoutMs: 3000, message: 'expiry' })
        expect(await store().getBuffer(key)).toBeNull()
        expect(await store().exists([key])).toBe(0)
        expect(await store().pttl(key)).toBe(-2)
      })

      it('is gone for every read as soon as its TTL has passed', async () => {
        const ns = namespace('on-time')
        const key = `${ns}value`
        await store().set(key, 'v', { ttlMs: 100 })
        const written = Date.now()
        // The property is about time itself, so this waits for the clock rather than for state: a
        // store that only dropped keys in a periodic sweep would still show the key here.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, written + 150 - Date.now())))
        expect(await store().get(key)).toBeNull()
        expect(await store().mget([key])).toEqual([null])
        expect(await store().exists([key])).toBe(0)
        expect(await collect(store().scan({ match: `${escapeGlob(ns)}*` }))).toEqual([])
      })

      it('sets a TTL with pexpire, false for a missing key', async () => {
        const ns = namespace('pexpire')
        expect(await store().pexpire(`${ns}missing`, 1000)).toBe(false)
        await store().set(`${ns}long`, 'v')
        expect(await store().pexpire(`${ns}long`, 60_000)).toBe(true)
        expect(await store().pttl(`${ns}long`)).toBeGreaterThan(50_000)
        await store().set(`${ns}short`, 'v')
        expect(await store().pexpire(`${ns}short`, SHORT_TTL_MS)).toBe(true)
        await waitUntilGone(store(), `${ns}short`)
        expect(await store().get(`${ns}short`)).toBeNull()
      })

      it('clears an existing TTL on set without one (like SET), also with XX or ttlMs 0', async () => {
        const ns = namespace('clear-ttl')
        await store().set(`${ns}plain`, 'v', { ttlMs: 60_000 })
        await store().set(`${ns}plain`, 'w')
        expect(await store().pttl(`${ns}plain`)).toBe(-1)
        await store().set(`${ns}xx`, 'v', { ttlMs: 60_000 })
        expect(await store().set(`${ns}xx`, 'w', { condition: 'XX' })).toBe(true)
        expect(await store().pttl(`${ns}xx`)).toBe(-1)
        await store().set(`${ns}zero`, 'v', { ttlMs: 60_000 })
        await store().set(`${ns}zero`, 'w', { ttlMs: 0 })
        expect(await store().pttl(`${ns}zero`)).toBe(-1)
      })

      it('replaces a TTL with the one of the new set', async () => {
        const key = `${namespace('replace-ttl')}value`
        await store().set(key, 'v', { ttlMs: SHORT_TTL_MS })
        await store().set(key, 'w', { ttlMs: 60_000 })
        expect(await store().pttl(key)).toBeGreaterThan(50_000)
      })
    })

    describe('many keys at once', () => {
      it('writes and reads 600 keys with mixed TTLs, in order, across slots', async () => {
        const ns = namespace('bulk')
        const entries = range(600).map((i) => ({
          key: `${ns}${i}`,
          value: i % 5 === 0 ? Buffer.from([i % 256, 0x00, 0xff]) : `value-${i}`,
          ttlMs: i % 3 === 0 ? undefined : i % 3 === 1 ? 60_000 : 400,
        }))
        await store().mset(entries)
        const keys = entries.map((entry) => entry.key)
        const asText = entries.map((entry) =>
          typeof entry.value === 'string' ? entry.value : entry.value.toString('utf8'),
        )
        const asBytes = entries.map((entry) =>
          typeof entry.value === 'string' ? Buffer.from(entry.value) : entry.value,
        )
        expect(await store().mget(keys)).toEqual(asText)
        expect(await store().mgetBuffer(keys)).toEqual(asBytes)
        expect(await store().pttl(keys[0]!)).toBe(-1)
        expect(await store().pttl(keys[1]!)).toBeGreaterThan(50_000)
        expect(await store().pttl(keys[2]!)).toBeGreaterThan(0)

        await waitUntilGone(store(), keys[599]!)
        const after = await store().mget(keys)
        after.forEach((value, i) => {
          expect(value).toBe(i % 3 === 2 ? null : asText[i])
        })
      })

      it('keeps the order of keys, with missing and repeated keys', async () => {
        const ns = namespace('order')
        await store().mset([
          { key: `${ns}a`, value: 'A' },
          { key: `${ns}b`, value: 'B' },
        ])
        const keys = [`${ns}b`, `${ns}missing`, `${ns}a`, `${ns}b`]
        expect(await store().mget(keys)).toEqual(['B', null, 'A', 'B'])
        expect(await store().mgetBuffer(keys)).toEqual([
          Buffer.from('B'),
          null,
          Buffer.from('A'),
          Buffer.from('B'),
        ])
      })

      it('accepts empty lists', async () => {
        await store().mset([])
        expect(await store().mget([])).toEqual([])
        expect(await store().mgetBuffer([])).toEqual([])
        expect(await store().del([])).toBe(0)
        expect(await store().exists([])).toBe(0)
      })

      it('deletes keys of every type and counts only those that existed', async () => {
        const ns = namespace('del')
        const keys = range(520).map((i) => `${ns}${i}`)
        await store().mset(keys.map((key) => ({ key, value: 'v' })))
        await store().sadd(`${ns}set`, ['m'])
        await store().hset(`${ns}hash`, { f: 'v' })
        expect(await store().exists([...keys, `${ns}set`, `${ns}hash`, `${ns}missing`])).toBe(522)
        expect(await store().del([...keys, `${ns}set`, `${ns}hash`, `${ns}missing`])).toBe(522)
        expect(await store().exists([...keys, `${ns}set`, `${ns}hash`])).toBe(0)
        expect(await store().del([keys[0]!])).toBe(0)
      })

      it('counts a key named twice in del once', async () => {
        const key = `${namespace('del-twice')}value`
        await store().set(key, 'v')
        expect(await store().del([key, key])).toBe(1)
      })
    })

    describe('counters', () => {
      it('creates at 0 and adds, also negative amounts', async () => {
        const key = `${namespace('incr')}counter`
        expect(await store().incrBy(key, 1)).toBe(1)
        expect(await store().incrBy(key, 41)).toBe(42)
        expect(await store().incrBy(key, -50)).toBe(-8)
        expect(await store().incrBy(key, 0)).toBe(-8)
        expect(await store().get(key)).toBe('-8')
        expect(await store().pttl(key)).toBe(-1)
      })

      it('increments an integer written with set, keeping its TTL', async () => {
        const key = `${namespace('incr-set')}counter`
        await store().set(key, '41', { ttlMs: 60_000 })
        expect(await store().incrBy(key, 1)).toBe(42)
        expect(await store().get(key)).toBe('42')
        expect(await store().pttl(key)).toBeGreaterThan(50_000)
      })

      it('sets the TTL only when the counter has none (the first increment of a window)', async () => {
        const ns = namespace('incr-ttl')
        expect(await store().incrBy(`${ns}window`, 1, SHORT_TTL_MS)).toBe(1)
        const first = await store().pttl(`${ns}window`)
        expect(first).toBeGreaterThan(0)
        expect(first).toBeLessThanOrEqual(SHORT_TTL_MS)
        expect(await store().incrBy(`${ns}window`, 1, 60_000)).toBe(2)
        expect(await store().pttl(`${ns}window`)).toBeLessThanOrEqual(SHORT_TTL_MS)

        await waitUntilGone(store(), `${ns}window`)
        expect(await store().incrBy(`${ns}window`, 1, 60_000)).toBe(1)
        expect(await store().pttl(`${ns}window`)).toBeGreaterThan(50_000)

        // A counter without expiry gets one on the next increment that carries a TTL.
        await store().incrBy(`${ns}plain`, 5)
        expect(await store().pttl(`${ns}plain`)).toBe(-1)
        expect(await store().incrBy(`${ns}plain`, 1, 60_000)).toBe(6)
        expect(await store().pttl(`${ns}plain`)).toBeGreaterThan(50_000)
      })

      it('rejects values that are not integers and leaves them unchanged', async () => {
        const ns = namespace('incr-bad')
        for (const [index, value] of ['abc', '1.5', '', ' 1', '007', '99999999999999999999'].entries()) {
          const key = `${ns}${index}`
          await store().set(key, value)
          await expect(store().incrBy(key, 1)).rejects.toThrow(/not an integer/)
          expect(await store().get(key)).toBe(value)
        }
      })
    })

    describe('sets', () => {
      it('adds, removes and counts members', async () => {
        const key = `${namespace('set')}members`
        expect(await store().sadd(key, ['a', 'b', 'c', 'a'])).toBe(3)
        expect(await store().sadd(key, ['c', 'd'])).toBe(1)
        expect(await store().scard(key)).toBe(4)
        expect(await store().sismember(key, 'a')).toBe(true)
        expect(await store().sismember(key, 'z')).toBe(false)
        expect(await store().srem(key, ['a', 'z'])).toBe(1)
        expect(await store().sismember(key, 'a')).toBe(false)
        expect(await store().scard(key)).toBe(3)
        expect(await store().pttl(key)).toBe(-1)
      })

      it('reads a missing set as empty', async () => {
        const key = `${namespace('set-missing')}members`
        expect(await store().scard(key)).toBe(0)
        expect(await store().sismember(key, 'a')).toBe(false)
        expect(await store().srem(key, ['a'])).toBe(0)
        expect(await collect(store().sscan(key))).toEqual([])
      })

      it('deletes a set once its last member is removed', async () => {
        const key = `${namespace('set-empty')}members`
        await store().sadd(key, ['a', 'b'], 60_000)
        expect(await store().srem(key, ['a', 'b'])).toBe(2)
        expect(await store().exists([key])).toBe(0)
        expect(await store().pttl(key)).toBe(-2)
        // Recreated, it starts without the old expiry.
        await store().sadd(key, ['c'])
        expect(await store().pttl(key)).toBe(-1)
      })

      it('(re)sets the expiry when sadd gets a TTL and keeps it otherwise', async () => {
        const ns = namespace('set-ttl')
        await store().sadd(`${ns}short`, ['a'], SHORT_TTL_MS)
        expect(await store().pttl(`${ns}short`)).toBeGreaterThan(0)
        await waitUntilGone(store(), `${ns}short`)
        expect(await store().scard(`${ns}short`)).toBe(0)

        await store().sadd(`${ns}long`, ['a'], 10_000)
        await store().sadd(`${ns}long`, ['b'], 60_000)
        expect(await store().pttl(`${ns}long`)).toBeGreaterThan(50_000)
        await store().sadd(`${ns}long`, ['c'])
        expect(await store().pttl(`${ns}long`)).toBeGreaterThan(50_000)
      })

      it('walks 5000 members with sscan, whatever the batch size', async () => {
        const key = `${namespace('sscan')}members`
        const members = range(5000).map((i) => `m${i}`)
        await store().sadd(key, members)
        const expected = [...members].sort()
        expect(await collectSet(store().sscan(key))).toEqual(expected)
        expect(await collectSet(store().sscan(key, { count: 100 }))).toEqual(expected)
      })

      it('filters sscan with MATCH', async () => {
        const key = `${namespace('sscan-match')}members`
        await store().sadd(
          key,
          range(5000).map((i) => `m${i}`),
        )
        const expected = range(5000)
          .map((i) => `m${i}`)
          .filter((member) => member.startsWith('m12'))
          .sort()
        expect(await collectSet(store().sscan(key, { match: 'm12*', count: 200 }))).toEqual(expected)
        expect(await collectSet(store().sscan(key, { match: 'm4?' }))).toEqual(
          range(10)
            .map((i) => `m4${i}`)
            .sort(),
        )
        expect(await collect(store().sscan(key, { match: 'nothing*' }))).toEqual([])
      })

      it('returns every member present for the whole sscan, while others come and go', async () => {
        const key = `${namespace('sscan-churn')}members`
        const stable = range(2000).map((i) => `stable${i}`)
        const leaving = range(2000).map((i) => `leaving${i}`)
        await store().sadd(key, [...stable, ...leaving])
        const seen = new Set<string>()
        let churned = false
        for await (const batch of store().sscan(key, { count: 100 })) {
          for (const member of batch) seen.add(member)
          if (!churned) {
            churned = true
            await store().srem(key, leaving)
            await store().sadd(
              key,
              range(2000).map((i) => `arriving${i}`),
            )
          }
        }
        for (const member of stable) expect(seen.has(member)).toBe(true)
      })
    })

    describe('hashes', () => {
      it('sets, reads and deletes fields', async () => {
        const key = `${namespace('hash')}fields`
        expect(await store().hset(key, { a: '1', b: '2' })).toBe(2)
        expect(await store().hset(key, { b: 'two', c: '' })).toBe(1)
        expect(await store().hgetall(key)).toEqual({ a: '1', b: 'two', c: '' })
        expect(await store().hdel(key, ['a', 'missing'])).toBe(1)
        expect(await store().hgetall(key)).toEqual({ b: 'two', c: '' })
        expect(await store().pttl(key)).toBe(-1)
      })

      it('keeps unicode and odd field names as data', async () => {
        const key = `${namespace('hash-names')}fields`
        const fields = { 'naïve 名前': 'ü', 'with space': 'x y', 'a:b:c': '{"json":true}', constructor: 'c' }
        await store().hset(key, fields)
        expect(await store().hgetall(key)).toEqual(fields)
      })

      it('reads a missing hash as {} and deletes an emptied one', async () => {
        const key = `${namespace('hash-empty')}fields`
        expect(await store().hgetall(key)).toEqual({})
        expect(await store().hdel(key, ['a'])).toBe(0)
        await store().hset(key, { a: '1' }, 60_000)
        expect(await store().hdel(key, ['a'])).toBe(1)
        expect(await store().exists([key])).toBe(0)
        expect(await store().pttl(key)).toBe(-2)
      })

      it('(re)sets the expiry when hset gets a TTL and keeps it otherwise', async () => {
        const ns = namespace('hash-ttl')
        await store().hset(`${ns}short`, { a: '1' }, SHORT_TTL_MS)
        expect(await store().pttl(`${ns}short`)).toBeGreaterThan(0)
        await waitUntilGone(store(), `${ns}short`)
        expect(await store().hgetall(`${ns}short`)).toEqual({})

        await store().hset(`${ns}long`, { a: '1' }, 10_000)
        await store().hset(`${ns}long`, { b: '2' }, 60_000)
        expect(await store().pttl(`${ns}long`)).toBeGreaterThan(50_000)
        await store().hset(`${ns}long`, { c: '3' })
        expect(await store().pttl(`${ns}long`)).toBeGreaterThan(50_000)
      })
    })

    describe('scan', () => {
      it('returns exactly the keys matching a pattern among 3000', async () => {
        const ns = namespace('scan')
        const users = range(1000).map((i) => `${ns}user:${i}`)
        const orders = range(1000).map((i) => `${ns}order:${i}`)
        const others = range(1000).map((i) => `${ns}other:${i % 2 === 0 ? 'ü' : ''}${i}`)
        const all = [...users, ...orders, ...others]
        await store().mset(all.map((key) => ({ key, value: 'v' })))
        const base = escapeGlob(ns)

        expect(await collectSet(store().scan({ match: `${base}user:*` }))).toEqual([...users].sort())
        expect(await collectSet(store().scan({ match: `${base}user:*`, count: 50 }))).toEqual(
          [...users].sort(),
        )
        expect(await collectSet(store().scan({ match: `${base}*` }))).toEqual([...all].sort())
        expect(await collectSet(store().scan({ match: `${base}order:1?` }))).toEqual(
          range(10)
            .map((i) => `${ns}order:1${i}`)
            .sort(),
        )
        expect(await collectSet(store().scan({ match: `${base}order:[2-3]` }))).toEqual([
          `${ns}order:2`,
          `${ns}order:3`,
        ])
        expect(await collectSet(store().scan({ match: `${base}order:[^0-8]` }))).toEqual([`${ns}order:9`])
        expect(await collectSet(store().scan({ match: `${base}order:[159]` }))).toEqual([
          `${ns}order:1`,
          `${ns}order:5`,
          `${ns}order:9`,
        ])
        expect(await collectSet(store().scan({ match: `${base}other:ü99*` }))).toEqual([
          `${ns}other:ü990`,
          `${ns}other:ü992`,
          `${ns}other:ü994`,
          `${ns}other:ü996`,
          `${ns}other:ü998`,
        ])
        expect(await collect(store().scan({ match: `${base}nothing:*` }))).toEqual([])
      })

      it('matches glob metacharacters in keys literally when escaped with a backslash', async () => {
        const ns = namespace('scan-meta')
        const literal = ['a*b', 'a?b', 'a[b]', 'a\\b', 'a^b', 'a-b', '[x]*']
        const decoys = ['aXb', 'aXXb', 'ab', 'ab]', 'a', 'x', '[x]']
        await store().mset([...literal, ...decoys].map((suffix) => ({ key: `${ns}${suffix}`, value: 'v' })))
        for (const suffix of literal) {
          const key = `${ns}${suffix}`
          expect(await collectSet(store().scan({ match: escapeGlob(key) }))).toEqual([key])
        }
        expect(await collectSet(store().scan({ match: `${escapeGlob(`${ns}a*`)}*` }))).toEqual([`${ns}a*b`])
        expect(await collectSet(store().scan({ match: `${escapeGlob(ns)}a[*?]b` }))).toEqual(
          [`${ns}a*b`, `${ns}a?b`].sort(),
        )
      })

      it('never returns expired keys', async () => {
        const ns = namespace('scan-expired')
        const live = range(50).map((i) => `${ns}live:${i}`)
        const expiring = range(50).map((i) => `${ns}expiring:${i}`)
        await store().mset([
          ...live.map((key) => ({ key, value: 'v' })),
          ...expiring.map((key) => ({ key, value: 'v', ttlMs: 50 })),
        ])
        // Written last with the same TTL: once it is gone, the others have expired too. Polling a
        // separate key avoids touching the ones under test, which would delete them lazily.
        const marker = `${context!.prefix}marker.${namespaces}`
        await store().set(marker, 'v', { ttlMs: 50 })
        await waitUntilGone(store(), marker)
        expect(await collectSet(store().scan({ match: `${escapeGlob(ns)}*` }))).toEqual([...live].sort())
      })

      it('returns every key present for the whole walk, while others come and go', async () => {
        const ns = namespace('scan-churn')
        const stable = range(1000).map((i) => `${ns}stable:${i}`)
        const leaving = range(1000).map((i) => `${ns}leaving:${i}`)
        await store().mset([...stable, ...leaving].map((key) => ({ key, value: 'v' })))
        const seen = new Set<string>()
        let churned = false
        for await (const batch of store().scan({ match: `${escapeGlob(ns)}*`, count: 100 })) {
          for (const key of batch) seen.add(key)
          if (!churned) {
            churned = true
            await store().del(leaving)
            await store().mset(range(1000).map((i) => ({ key: `${ns}arriving:${i}`, value: 'v' })))
          }
        }
        for (const key of stable) expect(seen.has(key)).toBe(true)
      })
    })

    describe('types', () => {
      it('rejects commands on a key of the wrong type with WRONGTYPE', async () => {
        const ns = namespace('wrongtype')
        const text = `${ns}string`
        const set = `${ns}set`
        const hash = `${ns}hash`
        await store().set(text, '1')
        await store().sadd(set, ['m'])
        await store().hset(hash, { f: 'v' })

        await expect(store().sadd(text, ['m'])).rejects.toThrow(/WRONGTYPE/)
        await expect(store().srem(text, ['m'])).rejects.toThrow(/WRONGTYPE/)
        await expect(store().sismember(text, 'm')).rejects.toThrow(/WRONGTYPE/)
        await expect(store().scard(text)).rejects.toThrow(/WRONGTYPE/)
        await expect(collect(store().sscan(text))).rejects.toThrow(/WRONGTYPE/)
        await expect(store().hset(text, { f: 'v' })).rejects.toThrow(/WRONGTYPE/)
        await expect(store().hgetall(set)).rejects.toThrow(/WRONGTYPE/)
        await expect(store().hdel(set, ['f'])).rejects.toThrow(/WRONGTYPE/)
        await expect(store().get(set)).rejects.toThrow(/WRONGTYPE/)
        await expect(store().getBuffer(hash)).rejects.toThrow(/WRONGTYPE/)
        await expect(store().incrBy(hash, 1)).rejects.toThrow(/WRONGTYPE/)
        await expect(store().sadd(hash, ['m'])).rejects.toThrow(/WRONGTYPE/)

        // Nothing was changed by the failed commands.
        expect(await store().get(text)).toBe('1')
        expect(await store().scard(set)).toBe(1)
        expect(await store().hgetall(hash)).toEqual({ f: 'v' })
      })

      it('lets set replace a key of any type, dropping its TTL', async () => {
        const ns = namespace('replace-type')
        await store().sadd(`${ns}set`, ['m'], 60_000)
        await store().hset(`${ns}hash`, { f: 'v' })
        expect(await store().set(`${ns}set`, 'now a string')).toBe(true)
        expect(await store().set(`${ns}hash`, 'also a string')).toBe(true)
        expect(await store().get(`${ns}set`)).toBe('now a string')
        expect(await store().get(`${ns}hash`)).toBe('also a string')
        expect(await store().pttl(`${ns}set`)).toBe(-1)
      })
    })

    describe('scripts', () => {
      it('compare-and-delete deletes only on a match', async () => {
        const key = `${namespace('cad')}lock`
        await store().set(key, 'token-1')
        expect(await store().runScript(compareAndDelete.name, [key], ['token-2'])).toBe(0)
        expect(await store().get(key)).toBe('token-1')
        expect(await store().runScript(compareAndDelete.name, [key], ['token-1'])).toBe(1)
        expect(await store().get(key)).toBeNull()
        expect(await store().runScript(compareAndDelete.name, [key], ['token-1'])).toBe(0)
      })

      it('truncates numbers like Redis does with Lua numbers', async () => {
        const key = `${namespace('window')}counter`
        expect(await store().runScript(windowCounter.name, [key], [1, 10_500])).toEqual([1, 10])
        expect(await store().runScript(windowCounter.name, [key], [2, 10_500])).toEqual([3, 10])
        const remaining = await store().pttl(key)
        expect(remaining).toBeGreaterThan(10_000)
        expect(remaining).toBeLessThanOrEqual(10_500)
      })

      it('converts nested tables, false, integers and strings like Redis', async () => {
        const key = `${namespace('shapes')}missing`
        expect(await store().runScript(shapes.name, [key], [7, 'x'])).toEqual([
          'a',
          42,
          -2,
          3,
          ['nested', [1, 2], []],
          null,
          '7',
          2,
          '',
        ])
      })

      it('passes arguments as strings', async () => {
        expect(await store().runScript(echoArgs.name, [], [1, 'x', 2.5, -3, 'é 🎉', ''])).toEqual([
          '1',
          'x',
          '2.5',
          '-3',
          'é 🎉',
          '',
        ])
      })

      it('returns nil as null and strings as strings', async () => {
        const key = `${namespace('get-script')}value`
        expect(await store().runScript(getValue.name, [key], [])).toBeNull()
        await store().set(key, '42')
        expect(await store().runScript(getValue.name, [key], [])).toBe('42')
      })

      it('hands a binaryReply script its reply as untouched bytes', async () => {
        const key = `${namespace('packed-script')}value`
        await store().set(key, 'é')
        const reply = await store().runScript(packed.name, [key], [1.5, -(2 ** 40)])
        expect(Buffer.isBuffer(reply)).toBe(true)
        const bytes = reply as Buffer
        // 'é' is two bytes in UTF-8; the doubles contain bytes that are not valid UTF-8 on their own.
        expect(bytes.length).toBe(18)
        expect(bytes.subarray(0, 2).toString('utf8')).toBe('é')
        expect([bytes.readDoubleLE(2), bytes.readDoubleLE(10)]).toEqual([1.5, -(2 ** 40)])
      })

      it('reads the time in milliseconds', async () => {
        const before = Date.now()
        const reply = await store().runScript(serverTime.name, [], [])
        expect(typeof reply).toBe('number')
        expect(Number.isInteger(reply)).toBe(true)
        // Another host's clock may differ a little; a seconds/ms mix-up would be off by far more.
        expect(Math.abs((reply as number) - before)).toBeLessThan(30_000)
      })

      it('runs multi-key scripts on keys sharing a {hash tag}', async () => {
        const tag = `{${namespace('transfer').slice(context!.prefix.length)}}`
        const from = `${context!.prefix}${tag}:from`
        const to = `${context!.prefix}${tag}:to`
        await store().set(from, '100')
        expect(await store().runScript(transfer.name, [from, to], [30])).toEqual([1, 70, 30])
        expect(await store().runScript(transfer.name, [from, to], [80])).toEqual([0, 70])
        expect(await store().runScript(transfer.name, [from, to], [70])).toEqual([1, 0, 100])
        expect(await store().mget([from, to])).toEqual(['0', '100'])
      })

      it('rejects a failing script with ScriptError', async () => {
        const failure = store().runScript(failing.name, [], [])
        await expect(failure).rejects.toBeInstanceOf(ScriptError)
        await expect(failure).rejects.toThrow(/contract failure/)
      })

      it('rejects a command on the wrong type inside a script with WRONGTYPE', async () => {
        const key = `${namespace('script-wrongtype')}set`
        await store().sadd(key, ['m'])
        const failure = store().runScript(getValue.name, [key], [])
        await expect(failure).rejects.toBeInstanceOf(ScriptError)
        await expect(failure).rejects.toThrow(/WRONGTYPE/)
      })

      it('rejects an unknown script name with ScriptError', async () => {
        await expect(store().runScript('contract.neverDefined', [], [])).rejects.toBeInstanceOf(ScriptError)
      })

      it('accepts the same definition twice and refuses another script under a used name', () => {
        expect(() => store().defineScript(compareAndDelete)).not.toThrow()
        expect(() => store().defineScript({ ...compareAndDelete, lua: 'return 1' })).toThrow(ScriptError)
      })
    })

    describe('pub/sub', () => {
      const channel = (label: string): string => `${namespace('channel')}${label}`

      it('delivers a published message to a subscriber', async () => {
        const name = channel('basic')
        const received: [string, string][] = []
        const unsubscribe = await store().subscribe(name, (message, from) => received.push([message, from]))
        expect(typeof unsubscribe).toBe('function')
        try {
          await store().publish(name, 'hello ✓')
          await waitFor(() => received.length === 1, { message: 'delivery' })
          expect(received).toEqual([['hello ✓', name]])
        } finally {
          await unsubscribe()
        }
      })

      // Order across publishes is not part of the contract: on Cluster each PUBLISH may enter through
      // another node and travel the cluster bus, so messages can overtake each other.
      it('delivers every message to every listener', async () => {
        const name = channel('two')
        const first: string[] = []
        const second: string[] = []
        const offFirst = await store().subscribe(name, (message) => first.push(message))
        const offSecond = await store().subscribe(name, (message) => second.push(message))
        try {
          const messages = range(20).map((i) => `m${i}`)
          for (const message of messages) await store().publish(name, message)
          await waitFor(() => first.length === 20 && second.length === 20, { message: 'both listeners' })
          expect([...first].sort()).toEqual([...messages].sort())
          expect([...second].sort()).toEqual([...messages].sort())
        } finally {
          await offFirst()
          await offSecond()
        }
      })

      it('keeps delivering to others when a listener throws', async () => {
        const name = channel('throwing')
        const received: string[] = []
        const offThrowing = await store().subscribe(name, () => {
          throw new Error('listener failure (expected by the test)')
        })
        const offGood = await store().subscribe(name, (message) => received.push(message))
        try {
          await store().publish(name, 'one')
          await store().publish(name, 'two')
          await waitFor(() => received.length === 2, { message: 'delivery past a throwing listener' })
          expect([...received].sort()).toEqual(['one', 'two'])
        } finally {
          await offThrowing()
          await offGood()
        }
      })

      it('stops delivering to a listener once unsubscribed', async () => {
        const name = channel('unsubscribe')
        const removed: string[] = []
        const kept: string[] = []
        const offRemoved = await store().subscribe(name, (message) => removed.push(message))
        const offKept = await store().subscribe(name, (message) => kept.push(message))
        try {
          await store().publish(name, 'before')
          await waitFor(() => removed.length === 1 && kept.length === 1, { message: 'first delivery' })
          await offRemoved()
          await offRemoved()
          await store().publish(name, 'after')
          // The kept listener is the barrier: once it has the message, the other would have it too.
          await waitFor(() => kept.length === 2, { message: 'second delivery' })
          expect(removed).toEqual(['before'])
          expect(kept).toEqual(['before', 'after'])
        } finally {
          await offKept()
        }
      })

      it('keeps channels apart', async () => {
        const a = channel('a')
        const b = channel('b')
        const onA: string[] = []
        const onB: string[] = []
        const offA = await store().subscribe(a, (message) => onA.push(message))
        const offB = await store().subscribe(b, (message) => onB.push(message))
        try {
          await store().publish(a, 'for a')
          await store().publish(b, 'for b')
          await waitFor(() => onA.length === 1 && onB.length === 1, { message: 'delivery on both channels' })
          await store().publish(b, 'b again')
          await waitFor(() => onB.length === 2, { message: 'second message on b' })
          expect(onA).toEqual(['for a'])
          expect(onB).toEqual(['for b', 'b again'])
        } finally {
          await offA()
          await offB()
        }
      })

      it('accepts a publish with no subscriber and a reconnect listener', async () => {
        await store().publish(channel('nobody'), 'lost')
        const remove = store().onSubscriberReconnect(() => {})
        expect(typeof remove).toBe('function')
        remove()
      })
    })

    describe('health', () => {
      it('pings with a round trip time in ms', async () => {
        const rtt = await store().ping()
        expect(typeof rtt).toBe('number')
        expect(rtt).toBeGreaterThanOrEqual(0)
      })
    })
  })
}
