// @CachePut: an async method that always runs, its result then stored under a key built from its arguments
// or the result itself ('event:{$result.id}'), so a write keeps the cache current instead of emptying it.

import type { CacheSetOptions } from '../cache/cache-options.js'
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

/** Options of {@link CachePut}. */
export interface CachePutOptions<Args extends readonly unknown[] = unknown[], Result = unknown> {
  /**
   * The cache: `kit.cache(name)`, or a function returning it, called on every invocation with the instance.
   * @default none (required)
   * @example cache: () => kit.cache('events')
   */
  cache: CacheSource
  /**
   * The key to store the result under: a template over the arguments, as in `@Cacheable`, where
   * `{$result}` and `{$result.field}` also read the result (for ids the method creates), or a function of
   * the arguments.
   * @default none (required)
   * @example key: 'event:{$result.id}'
   */
  key: KeyOption<Args>
  /**
   * Time to live of the stored entry.
   * @default the cache's ttl
   * @example ttl: '10m'
   */
  ttl?: Duration
  /**
   * Tags of the stored entry (templates, `{$result...}` allowed, or a function of the arguments).
   * @default none
   * @example tags: ['venue:{$result.venueId}']
   */
  tags?: TagsOption<Args>
  /**
   * Decides per call whether to store: `false` only calls the method.
   * @default every call stores
   * @example condition: (event: Event) => event.status !== 'draft'
   */
  condition?: (...args: Args) => boolean
  /**
   * Decides per result whether to skip storing it: `true` leaves the cache as it was.
   * @default every result is stored
   * @example unless: (event: Event) => event.status === 'draft'
   */
  unless?: (result: Result, ...args: Args) => boolean
  /**
   * Whether an `undefined` result is stored. When it is not, the entry under the key is deleted instead,
   * so the cache never keeps a value the method no longer returns.
   * @default false
   * @example cacheNullish: true
   */
  cacheNullish?: boolean
}

const KNOWN = new Set(['cache', 'key', 'ttl', 'tags', 'condition', 'unless', 'cacheNullish'])

/**
 * Always calls an async method and stores its result (Spring's `@CachePut`), for writes that return the
 * new value: readers using `@Cacheable` with the same cache and key get it without a miss. The store
 * happens before the call's promise resolves.
 *
 * @throws InvalidOptionsError when the class is defined, for bad options or a template naming no parameter
 * @example
 * class EventService {
 *   @CachePut({ cache: () => kit.cache('events'), key: 'event:{$result.id}' })
 *   async createEvent(input: NewEvent): Promise<Event> {
 *     return db.events.insert(input)
 *   }
 * }
 */
export function CachePut<Args extends readonly unknown[] = unknown[], Result = unknown>(
  options: CachePutOptions<Args, Result>,
): CacheMethodDecorator<Args, Result> {
  return decorateMethod('@CachePut', (original, method) => {
    const { where } = method
    checkOptionKeys(options, KNOWN, where)
    checkCacheSource(options.cache, where)
    requireKey(options.key, where)
    checkTtl(options.ttl, where)
    checkFunction(options.condition, 'condition', where, '(event) => event.visible')
    checkFunction(options.unless, 'unless', where, '(result) => result === undefined')
    checkBoolean(options.cacheNullish, 'cacheNullish', where)
    const site = { where, parameters: method.parameters, allowResult: true }
    const keyOf = compileKey(options.key, site)
    const tagsOf = compileTags(options.tags, site)
    const { cache: source, ttl } = options
    const condition = options.condition as unknown as Predicate | undefined
    const unless = options.unless as unknown as Predicate | undefined
    const cacheNullish = options.cacheNullish === true

    return async function putting(this: unknown, ...args: unknown[]): Promise<unknown> {
      if (condition !== undefined && !condition.apply(this, args)) {
        return original.apply(this, args)
      }
      const result = await original.apply(this, args)
      if (unless?.call(this, result, ...args)) return result
      const cache = resolveCache(source, where, this)
      const key = keyOf(this, args, result)
      if (result === undefined && !cacheNullish) {
        await cache.delete(key)
        return result
      }
      const setOptions: CacheSetOptions = {}
      if (ttl !== undefined) setOptions.ttl = ttl
      if (tagsOf !== undefined) setOptions.tags = tagsOf(this, args, result)
      await cache.set(key, result, setOptions)
      return result
    } satisfies AnyMethod
  }) as CacheMethodDecorator<Args, Result>
}
