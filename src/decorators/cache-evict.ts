// @CacheEvict: after an async method succeeds (or before it runs), delete one entry, invalidate tags, or
// clear the whole cache; a method that throws evicts nothing unless eviction came first.

import type { CacheKey } from '../cache/cache.js'
import { checkOptionKeys } from '../config/validate.js'
import { InvalidOptionsError } from '../errors.js'
import {
  type CacheSource,
  checkBoolean,
  checkCacheSource,
  checkFunction,
  compileKey,
  compileTags,
  type FromCall,
  type KeyOption,
  type Predicate,
  resolveCache,
  type TagsOption,
} from './decorator-options.js'
import { type AnyMethod, type CacheMethodDecorator, decorateMethod } from './method-decorator.js'

/** Options of {@link CacheEvict}: `key`, `tags` (either or both), or `allEntries`. */
export interface CacheEvictOptions<Args extends readonly unknown[] = unknown[]> {
  /**
   * The cache: `kit.cache(name)`, or a function returning it, called on every invocation with the instance.
   * @default none (required)
   * @example cache: () => kit.cache('events')
   */
  cache: CacheSource
  /**
   * The entry to delete: a template over the arguments (as in `@Cacheable`) or a function of them.
   * @default none
   * @example key: 'event:{id}'
   */
  key?: KeyOption<Args>
  /**
   * Tags to invalidate (templates or a function of the arguments): every entry carrying one becomes a
   * miss, in every cache of the kit and on every instance (`cache.invalidateTags`).
   * @default none
   * @example tags: ['venue:{venueId}']
   */
  tags?: TagsOption<Args>
  /**
   * Remove every entry of the cache (`cache.clear()`: SCAN + UNLINK, never KEYS). Excludes `key` and `tags`.
   * @default false
   * @example allEntries: true
   */
  allEntries?: boolean
  /**
   * Evict before the method is called, so the entries go even when it throws. By default eviction
   * follows a method that resolved, and a method that throws evicts nothing.
   * @default false
   * @example beforeInvocation: true
   */
  beforeInvocation?: boolean
  /**
   * Decides per call whether to evict: `false` only calls the method.
   * @default every call evicts
   * @example condition: (id: string, change: Change) => change.visible
   */
  condition?: (...args: Args) => boolean
}

const KNOWN = new Set(['cache', 'key', 'tags', 'allEntries', 'beforeInvocation', 'condition'])

/**
 * Evicts cache entries when an async method runs (Spring's `@CacheEvict`): the entry under `key`, every
 * entry carrying `tags`, or with `allEntries` the whole cache. Eviction happens after the method resolves
 * and its promise waits for it; an eviction error (Redis unreachable while invalidating tags) rejects the
 * call, although the method itself has run. Stack several to evict from several caches.
 *
 * @throws InvalidOptionsError when the class is defined, for bad options or a template naming no parameter
 * @example
 * class EventService {
 *   @CacheEvict({ cache: () => kit.cache('events'), key: 'event:{id}', tags: ['venue:{venueId}'] })
 *   async updateEvent(id: string, venueId: string, change: Change): Promise<void> {
 *     await db.events.update(id, change)
 *   }
 * }
 */
export function CacheEvict<Args extends readonly unknown[] = unknown[]>(
  options: CacheEvictOptions<Args>,
): CacheMethodDecorator<Args, unknown> {
  return decorateMethod('@CacheEvict', (original, method) => {
    const { where } = method
    checkOptionKeys(options, KNOWN, where)
    checkCacheSource(options.cache, where)
    checkBoolean(options.allEntries, 'allEntries', where)
    checkBoolean(options.beforeInvocation, 'beforeInvocation', where)
    checkFunction(options.condition, 'condition', where, '(id) => id !== undefined')
    const allEntries = options.allEntries === true
    const hasTarget = options.key !== undefined || options.tags !== undefined
    if (allEntries && hasTarget) {
      throw new InvalidOptionsError(
        `${where}: allEntries removes every entry of the cache; drop key and tags, or drop allEntries.`,
      )
    }
    if (!allEntries && !hasTarget) {
      throw new InvalidOptionsError(
        `${where}: say what to evict: key (e.g. 'event:{id}'), tags (e.g. ['venue:{venueId}']), or allEntries: true.`,
      )
    }
    const site = { where, parameters: method.parameters, allowResult: false }
    const keyOf: FromCall<CacheKey> | undefined =
      options.key === undefined ? undefined : compileKey(options.key, site)
    const tagsOf = compileTags(options.tags, site)
    const { cache: source } = options
    const condition = options.condition as unknown as Predicate | undefined
    const before = options.beforeInvocation === true

    return async function evicting(this: unknown, ...args: unknown[]): Promise<unknown> {
      if (condition !== undefined && !condition.apply(this, args)) {
        return original.apply(this, args)
      }
      // Keys and tags come from the arguments as they were passed, before the method can change them.
      const key = keyOf?.(this, args)
      const tags = tagsOf?.(this, args)
      const evict = async (): Promise<void> => {
        const cache = resolveCache(source, where, this)
        if (allEntries) {
          await cache.clear()
          return
        }
        await Promise.all([
          key === undefined ? undefined : cache.delete(key),
          tags === undefined || tags.length === 0 ? undefined : cache.invalidateTags(tags),
        ])
      }
      if (before) {
        await evict()
        return original.apply(this, args)
      }
      const result = await original.apply(this, args)
      await evict()
      return result
    } satisfies AnyMethod
  }) as CacheMethodDecorator<Args, unknown>
}
