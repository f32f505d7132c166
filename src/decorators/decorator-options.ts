// What the three cache decorators share: the cache they use (or a function returning it), key and tag
// options compiled once at decoration time, and the checks that make bad options fail there.

import type { Cache, CacheKey } from '../cache/cache.js'
import { type Duration, parseDuration } from '../config/duration.js'
import { describeValue } from '../config/validate.js'
import { InvalidOptionsError } from '../errors.js'
import { KeyTemplate, type TemplateSite } from './key-template.js'

/**
 * The cache a decorator uses: a `Cache` from `kit.cache(name)`, or a function returning one. The function
 * is called on every invocation with the instance the method runs on (the class for a static method), so
 * the class can be declared before the kit exists, or reach a kit it was given (dependency injection);
 * `kit.cache(name)` returns the same instance each time, so the call is cheap.
 * @example cache: () => kit.cache('events')
 * @example cache: (service: EventService) => service.kit.cache('events')
 */
export type CacheSource = Cache<unknown> | ((instance: never) => Cache<unknown>)

/**
 * The key of an entry: a template over the method's arguments (`'event:{id}'`, `'{0}'`,
 * `'list:{query.page}'`, see docs/decorators.md), or a function of the arguments returning a cache key.
 * @example key: 'event:{id}'
 * @example key: (id: string, query: Query) => ['events', id, query]
 */
export type KeyOption<Args extends readonly unknown[]> = string | ((...args: Args) => CacheKey)

/**
 * Tags of an entry (or to invalidate): templates like keys (`'vendor:{vendorId}'`), or a function of the
 * arguments returning the tags.
 * @example tags: ['company:{companyId}:orders']
 * @example tags: (order: Order) => [`company:${order.companyId}:orders`]
 */
export type TagsOption<Args extends readonly unknown[]> =
  | readonly string[]
  | ((...args: Args) => readonly string[])

/** A condition or unless function, called with `this` and the arguments (unless: the result first). */
export type Predicate = (this: unknown, ...args: unknown[]) => boolean

/** Computes a call's key or tags from `this`, the arguments and (CachePut) the result. */
export type FromCall<T> = (self: unknown, args: readonly unknown[], result?: unknown) => T

/** Throws unless `source` is a cache or a function. */
export function checkCacheSource(source: unknown, where: string): void {
  if (typeof source === 'function' || isCache(source)) return
  throw new InvalidOptionsError(
    `${where}: cache must be a Cache from kit.cache(name), or a function returning one such as cache: () => kit.cache('events'), got ${describeValue(source)}.`,
  )
}

/** The cache of one call. */
export function resolveCache(source: CacheSource, where: string, instance: unknown): Cache<unknown> {
  if (typeof source !== 'function') return source
  const cache: unknown = (source as (instance: unknown) => unknown)(instance)
  if (isCache(cache)) return cache
  throw new InvalidOptionsError(
    `${where}: the cache function returned ${describeValue(cache)}, not a Cache; return kit.cache(name).`,
  )
}

/** A key option compiled: templates parsed and checked against the method's parameters. */
export function compileKey(option: unknown, site: TemplateSite): FromCall<CacheKey> {
  if (typeof option === 'function') {
    const keyOf = option as (...args: unknown[]) => CacheKey
    return (self, args) => keyOf.apply(self, args as unknown[])
  }
  const template = new KeyTemplate(option, site)
  return (_self, args, result) => template.render(args, result)
}

/** A tags option compiled; `undefined` when there is none. */
export function compileTags(option: unknown, site: TemplateSite): FromCall<readonly string[]> | undefined {
  if (option === undefined) return undefined
  if (typeof option === 'function') {
    const tagsOf = option as (...args: unknown[]) => readonly string[]
    return (self, args) => tagsOf.apply(self, args as unknown[])
  }
  if (!Array.isArray(option)) {
    throw new InvalidOptionsError(
      `${site.where}: tags must be an array of templates such as ['vendor:{vendorId}'], or a function of the arguments returning tags; got ${describeValue(option)}.`,
    )
  }
  const templates = option.map((tag: unknown) => new KeyTemplate(tag, site, 'tag'))
  return (_self, args, result) => templates.map((template) => template.renderTag(args, result))
}

/** Throws unless `value` is undefined or a function. */
export function checkFunction(value: unknown, name: string, where: string, example: string): void {
  if (value === undefined || typeof value === 'function') return
  throw new InvalidOptionsError(
    `${where}: ${name} must be a function such as ${example}, got ${describeValue(value)}.`,
  )
}

/** Throws unless `value` is undefined or a boolean. */
export function checkBoolean(value: unknown, name: string, where: string): void {
  if (value === undefined || typeof value === 'boolean') return
  throw new InvalidOptionsError(`${where}: ${name} must be true or false, got ${describeValue(value)}.`)
}

/** Throws unless `value` is undefined or a duration. */
export function checkTtl(value: unknown, where: string): void {
  if (value !== undefined) parseDuration(value as Duration, `${where}: ttl`)
}

/** Throws unless `key` is given. */
export function requireKey(key: unknown, where: string): void {
  if (key === undefined) {
    throw new InvalidOptionsError(
      `${where}: key is required, a template such as 'event:{id}' or a function of the arguments.`,
    )
  }
}

function isCache(value: unknown): value is Cache<unknown> {
  if (typeof value !== 'object' || value === null) return false
  const cache = value as Record<string, unknown>
  return (
    typeof cache.getOrSet === 'function' &&
    typeof cache.get === 'function' &&
    typeof cache.set === 'function' &&
    typeof cache.delete === 'function' &&
    typeof cache.keyOf === 'function'
  )
}
