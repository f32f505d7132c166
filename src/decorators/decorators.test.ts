import { afterAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../test/harness/wait-for.js'
import { InvalidOptionsError } from '../errors.js'
import { createRedkit } from '../index.js'
import { Cacheable, CacheEvict, CachePut } from './index.js'

// Decorators applied by hand, in the standard call shape: what does not depend on the decorator mode
// (test/decorators runs the behaviour suite on tsc output in both modes).
const kit = createRedkit({ url: 'memory', app: 'unit' })
afterAll(() => kit.close())

let namespaces = 0
const fresh = (options?: Parameters<typeof kit.cache>[1]) => kit.cache(`u${++namespaces}`, options)

function method(name: string): ClassMethodDecoratorContext {
  return { kind: 'method', name, static: false, private: false } as ClassMethodDecoratorContext
}

type Decorate = (value: unknown, context: ClassMethodDecoratorContext) => unknown

/** Decorates `fn` as a method named `name` and returns the replacement. */
function apply<F>(decorator: unknown, fn: F, name = 'load'): F {
  return (decorator as Decorate)(fn, method(name)) as F
}

describe('cache decorators: options', () => {
  const cache = fresh()
  const load = async (id: string) => id

  it('fail at decoration for unknown options, with a suggestion', () => {
    expect(() => apply(Cacheable({ cache, key: '{id}', tll: '1m' } as never), load)).toThrow(
      "@Cacheable on load: unknown option 'tll' (did you mean 'ttl'?)",
    )
    expect(() => apply(CacheEvict({ cache, keys: '{id}' } as never), load)).toThrow("did you mean 'key'?")
  })

  it('fail at decoration for a missing key, a bad cache, a bad ttl, a bad condition', () => {
    const cases: [unknown, string][] = [
      [Cacheable({ cache } as never), 'key is required'],
      [CachePut({ cache } as never), 'key is required'],
      [Cacheable({ cache: 'events', key: '{id}' } as never), 'cache must be a Cache from kit.cache(name)'],
      [Cacheable({ cache: {}, key: '{id}' } as never), 'cache must be a Cache'],
      [Cacheable({ cache, key: '{id}', ttl: 'soon' } as never), 'ttl'],
      [Cacheable({ cache, key: '{id}', condition: true } as never), 'condition must be a function'],
      [CachePut({ cache, key: '{id}', unless: 'x' } as never), 'unless must be a function'],
      [Cacheable({ cache, key: '{id}', tags: 'vendor:{id}' } as never), 'tags must be an array'],
      [Cacheable({ cache, key: '{id}', tags: [''] } as never), 'tag must be a non-empty template'],
      [Cacheable({ cache, key: '{id}', cacheNullish: 'yes' } as never), 'cacheNullish must be true or false'],
      [CacheEvict({ cache }), 'say what to evict'],
      [CacheEvict({ cache, allEntries: true, key: '{id}' }), 'drop key and tags'],
      [
        CacheEvict({ cache, key: '{id}', beforeInvocation: 1 } as never),
        'beforeInvocation must be true or false',
      ],
    ]
    for (const [decorator, message] of cases) {
      expect(() => apply(decorator, load), message).toThrow(InvalidOptionsError)
      expect(() => apply(decorator, load), message).toThrow(message)
    }
  })

  it('call the cache function with the instance, so a class can use the kit it was given', async () => {
    const cache = fresh()
    const service = { kit: { cache: () => cache }, factor: 3 }
    const seen: unknown[] = []
    const times = apply(
      Cacheable({
        cache: (instance: typeof service) => {
          seen.push(instance)
          return instance.kit.cache()
        },
        key: 'times:{n}',
      }),
      async function (this: typeof service, n: number) {
        return n * this.factor
      },
    )
    expect(await times.call(service, 2)).toBe(6)
    expect(seen).toEqual([service])
    expect(await cache.get(['times', 2])).toBe(6)
  })

  it('reject a call when the cache function returns no cache', async () => {
    const decorated = apply(Cacheable({ cache: () => undefined as never, key: '{id}' }), load)
    await expect(decorated('a')).rejects.toThrow(InvalidOptionsError)
    await expect(decorated('a')).rejects.toThrow('the cache function returned undefined, not a Cache')
  })

  it('reject a call whose key value is not data, before the method runs', async () => {
    let calls = 0
    const decorated = apply(Cacheable({ cache, key: 'x:{0}' }), async (_callback: () => void) => {
      calls++
    })
    await expect(decorated(() => {})).rejects.toThrow("template 'x:{0}': {0} is a function")
    expect(calls).toBe(0)
  })
})

describe('cache decorators: behaviour', () => {
  it('a method returning a plain value still returns a Promise, and is cached', async () => {
    let calls = 0
    const double = apply(Cacheable({ cache: fresh(), key: 'double:{n}' }), (n: number) => {
      calls++
      return n * 2
    })
    const first = double(21)
    expect(first).toBeInstanceOf(Promise)
    expect(await first).toBe(42)
    expect(await double(21)).toBe(42)
    expect(calls).toBe(1)
  })

  it('a method that throws caches nothing and the error reaches the caller', async () => {
    let calls = 0
    const cache = fresh()
    const flaky = apply(Cacheable({ cache, key: 'flaky' }), async () => {
      calls++
      if (calls === 1) throw new Error('database down')
      return 'ok'
    })
    await expect(flaky()).rejects.toThrow('database down')
    expect(await cache.has('flaky')).toBe(false)
    expect(await flaky()).toBe('ok')
    expect(calls).toBe(2)
  })

  it('applies ttl, and key and tags given as functions', async () => {
    const cache = fresh()
    const load = apply(
      Cacheable({
        cache,
        key: (id: string) => ['item', id],
        ttl: '1m',
        tags: (id: string) => [`item-tag:${id}`],
      }),
      async (id: string) => ({ id }),
    )
    await load('a')
    const ttl = await cache.ttl(['item', 'a'])
    expect(ttl).toBeGreaterThan(55_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
    await cache.invalidateTags(['item-tag:a'])
    expect(await cache.has(['item', 'a'])).toBe(false)
  })

  it('cacheNullish stores undefined results, on both the getOrSet and the unless path', async () => {
    const cache = fresh()
    let calls = 0
    const find = async (_id: string) => {
      calls++
      return undefined
    }
    const plain = apply(Cacheable({ cache, key: 'plain:{0}', cacheNullish: true }), find)
    const vetoing = apply(
      Cacheable({ cache, key: 'veto:{0}', cacheNullish: true, unless: () => false }),
      find,
    )
    for (const decorated of [plain, vetoing]) {
      calls = 0
      expect(await decorated('x')).toBeUndefined()
      expect(await decorated('x')).toBeUndefined()
      expect(calls).toBe(1)
    }
    const notStored = apply(Cacheable({ cache, key: 'none:{0}' }), find)
    calls = 0
    await notStored('x')
    await notStored('x')
    expect(calls).toBe(2)
  })

  it('condition and unless see `this` and the arguments; unless sees the result first', async () => {
    const seen: unknown[] = []
    const owner = { min: 2 }
    const decorated = apply(
      Cacheable({
        cache: fresh(),
        key: 'n:{0}',
        condition(this: unknown, n: number) {
          seen.push(['condition', this, n])
          return n >= (this as typeof owner).min
        },
        unless(this: unknown, result: number, n: number) {
          seen.push(['unless', this, result, n])
          return false
        },
      }),
      async (n: number) => n * 10,
    )
    expect(await decorated.call(owner, 1)).toBe(10)
    expect(await decorated.call(owner, 3)).toBe(30)
    expect(seen).toEqual([
      ['condition', owner, 1],
      ['condition', owner, 3],
      ['unless', owner, 30, 3],
    ])
  })

  it('stale-while-revalidate applies: a stale entry is served at once and refreshed in the background', async () => {
    const cache = fresh({ ttl: 40, swr: '1m' })
    let version = 0
    const load = apply(Cacheable({ cache, key: 'report' }), async () => ++version)
    expect(await load()).toBe(1)
    await waitFor(async () => (await cache.ttl('report')) === 0, { message: 'entry went stale' })
    expect(await load()).toBe(1)
    await waitFor(() => version === 2, { message: 'background refresh ran' })
    await waitFor(async () => (await load()) === 2, { message: 'refreshed value served' })
    expect(version).toBe(2)
  })

  it('CacheEvict waits for the eviction and passes the method result on', async () => {
    const cache = fresh()
    await cache.set(['item', 'a'], 1)
    const update = apply(CacheEvict({ cache, key: 'item:{id}' }), async (id: string) => `updated ${id}`)
    expect(await update('a')).toBe('updated a')
    expect(await cache.has(['item', 'a'])).toBe(false)
  })

  it('CacheEvict with a condition false only calls the method', async () => {
    const cache = fresh()
    await cache.set(['item', 'a'], 1)
    const update = apply(
      CacheEvict({ cache, key: 'item:{id}', condition: (_id: string, evict: boolean) => evict }),
      async (id: string, _evict: boolean) => `done ${id}`,
    )
    expect(await update('a', false)).toBe('done a')
    expect(await cache.has(['item', 'a'])).toBe(true)
    expect(await update('a', true)).toBe('done a')
    expect(await cache.has(['item', 'a'])).toBe(false)
  })

  it('CachePut with a condition false only calls the method', async () => {
    const cache = fresh()
    const save = apply(
      CachePut({ cache, key: 'item:{0}', condition: (_id: string, value: number) => value > 0 }),
      async (_id: string, value: number) => value,
    )
    expect(await save('a', 0)).toBe(0)
    expect(await cache.has(['item', 'a'])).toBe(false)
    expect(await save('a', 5)).toBe(5)
    expect(await cache.get(['item', 'a'])).toBe(5)
  })
})
