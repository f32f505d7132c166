// @Cacheable: an async method whose result is read from a cache, and computed (once per key per process,
// through getOrSet) and stored on a miss; condition and unless decide per call.

import type { Cache, CacheKey } from '../cache/cache.js'
import type { GetOrSetOptions } from '../cache/cache-options.js'
import type { Duration } from '../config/duration.js'
import { checkOptionKeys } from '../config/validate.js'
import {
  type CacheSource,
  checkBoolean,
  checkCacheSource,
  checkFunction,
  checkTtl,
  compileKey,
  compileTags,
  type KeyOption,
  type Predicate,
  requireKey,
  resolveCache,
  type TagsOption,
} from './decorator-options.js'
import { type AnyMethod, type CacheMethodDecorator, decorateMethod } from './method-decorator.js'

/** Options of {@link Cacheable}. */
export interface CacheableOptions<Args extends readonly unknown[] = unknown[], Result = unknown> {
  /**
   * The cache: `kit.cache(name)`, or a function returning it, called on every invocation with the instance
   * (for a class declared before the kit exists, or a kit the instance was given).
   * @default none (required)
   * @example cache: () => kit.cache('events')
   */
  cache: CacheSource
  /**
   * The key of the method's entry: a template over its arguments, by parameter name (`{id}`), position
   * (`{0}`) or field path (`{query.page}`, `{0.page}`), or a function of the arguments. Checked when the
   * class is defined: a placeholder naming no parameter throws `InvalidOptionsError` then.
   * @default none (required)
   * @example key: 'event:{id}'
   */
  key: KeyOption<Args>
  /**
   * Time to live of entries this method stores.
   * @default the cache's ttl
   * @example ttl: '10m'
   */
  ttl?: Duration
  /**
   * Tags of the entries this method stores (templates like `key`, or a function of the arguments), so
   * `@CacheEvict({ tags })` or `kit.invalidateTags` can drop them together.
   * @default none
   * @example tags: ['vendor:{vendorId}']
   */
  tags?: TagsOption<Args>
  /**
   * Decides per call whether the cache is used at all: `false` calls the method straight through (no
   * read, no write).
   * @default every call uses the cache
   * @example condition: (id: string) => !id.startsWith('draft-')
   */
  condition?: (...args: Args) => boolean
  /**
   * Decides per result whether it is stored: `true` returns the result without storing it. Calls that
   * use it are single-flighted per key by the decorator itself; see docs/decorators.md for how swr and
   * grace apply then.
   * @default every result is stored
   * @example unless: (event: Event | undefined) => event === undefined || event.status === 'draft'
   */
  unless?: (result: Result, ...args: Args) => boolean
  /**
   * Whether an `undefined` result is stored (and then served as a hit).
   * @default the cache's `cacheNullish` (false unless set)
   * @example cacheNullish: true
   */
  cacheNullish?: boolean
}

const KNOWN = new Set(['cache', 'key', 'ttl', 'tags', 'condition', 'unless', 'cacheNullish'])

/**
 * Caches an async method's result under a key built from its arguments (Spring's `@Cacheable`).
 * A hit returns the cached value without calling the method; on a miss concurrent calls with the same key
 * share one call (`cache.getOrSet`), and the cache's swr, grace and timeouts apply. Works with standard
 * decorators and with `experimentalDecorators` (NestJS); static methods too; `this` is kept.
 * Entries are keyed by the arguments only, so every instance of the class shares them.
 *
 * @throws InvalidOptionsError when the class is defined, for bad options or a template naming no parameter
 * @example
 * class EventService {
 *   @Cacheable({ cache: () => kit.cache('events'), key: 'event:{id}', ttl: '10m', tags: ['venue:{venueId}'] })
 *   async getEvent(id: string, venueId: string): Promise<Event> {
 *     return db.events.find(id)
 *   }
 * }
 */
export function Cacheable<Args extends readonly unknown[] = unknown[], Result = unknown>(
  options: CacheableOptions<Args, Result>,
): CacheMethodDecorator<Args, Result> {
  return decorateMethod('@Cacheable', (original, method) => {
    const { where } = method
    checkOptionKeys(options, KNOWN, where)
    checkCacheSource(options.cache, where)
    requireKey(options.key, where)
    checkTtl(options.ttl, where)
    checkFunction(options.condition, 'condition', where, '(id) => id !== undefined')
    checkFunction(options.unless, 'unless', where, '(result) => result === undefined')
    checkBoolean(options.cacheNullish, 'cacheNullish', where)
    const site = { where, parameters: method.parameters, allowResult: false }
    const keyOf = compileKey(options.key, site)
    const tagsOf = compileTags(options.tags, site)
    const { cache: source, ttl, cacheNullish } = options
    const condition = options.condition as unknown as Predicate | undefined
    const unless = options.unless as unknown as Predicate | undefined
    const flights = new WeakMap<object, Map<string, Promise<unknown>>>()

    return async function cached(this: unknown, ...args: unknown[]): Promise<unknown> {
      if (condition !== undefined && !condition.apply(this, args)) {
        return original.apply(this, args)
      }
      const cache = resolveCache(source, where, this)
      const key = keyOf(this, args)
      const callOptions: GetOrSetOptions = {}
      if (ttl !== undefined) callOptions.ttl = ttl
      if (tagsOf !== undefined) callOptions.tags = tagsOf(this, args)
      if (cacheNullish !== undefined) callOptions.cacheNullish = cacheNullish
      const call = () => original.apply(this, args)
      if (unless === undefined) return cache.getOrSet(key, call, callOptions)
      const fullKey = cache.keyOf(key)
      let running = flights.get(cache)
      if (running === undefined) {
        running = new Map()
        flights.set(cache, running)
      }
      const flight = running.get(fullKey)
      if (flight !== undefined) return flight
      const started = readThrough(cache, key, call, callOptions, (result) =>
        unless.call(this, result, ...args),
      )
      const shared = started.finally(() => running.delete(fullKey))
      running.set(fullKey, shared)
      return shared
    } satisfies AnyMethod
  }) as CacheMethodDecorator<Args, Result>
}

/**
 * getOrSet with a veto on storing: get, and on a miss call the method and store its result unless vetoed.
 * getOrSet itself cannot skip the write, so the caller single-flights this per key.
 */
async function readThrough(
  cache: Cache<unknown>,
  key: CacheKey,
  call: () => unknown,
  options: GetOrSetOptions,
  vetoed: (result: unknown) => boolean,
): Promise<unknown> {
  const cached = await cache.get(key)
  // A stored `undefined` reads like a miss; look closer only when the decorator stores them.
  if (cached !== undefined || (options.cacheNullish === true && (await cache.has(key)))) return cached
  const result = await call()
  if (vetoed(result)) return result
  if (result === undefined && options.cacheNullish !== true) return result
  const { cacheNullish: _, ...setOptions } = options
  await cache.set(key, result, setOptions)
  return result
}
