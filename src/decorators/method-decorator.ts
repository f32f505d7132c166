// One decorator function for both TypeScript decorator modes: standard decorators call it with
// (method, context), legacy `experimentalDecorators` (NestJS) with (target, name, descriptor).

import { InvalidOptionsError } from '../errors.js'
import { type ParameterList, parameterNames } from './parameter-names.js'

/**
 * The type of `@Cacheable(...)`, `@CacheEvict(...)` and `@CachePut(...)`: a method decorator for
 * TypeScript's standard decorators and for `experimentalDecorators` alike. It fits async methods (methods
 * returning a Promise) whose arguments start with `Args` and whose result is a `Result`.
 * @example
 * const cached: CacheMethodDecorator<[id: string], Event> = Cacheable<[id: string], Event>({ cache, key: 'event:{id}' })
 */
export interface CacheMethodDecorator<Args extends readonly unknown[], Result> {
  /** Standard decorators (TypeScript 5+ without `experimentalDecorators`). */
  <This, A extends readonly [...Args, ...unknown[]], R extends Result>(
    method: (this: This, ...args: A) => Promise<R>,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => Promise<R>>,
  ): (this: This, ...args: A) => Promise<R>
  /** Legacy decorators (`experimentalDecorators: true`, as NestJS uses). */
  <This, A extends readonly [...Args, ...unknown[]], R extends Result>(
    target: This,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<(this: This, ...args: A) => Promise<R>>,
  ): TypedPropertyDescriptor<(this: This, ...args: A) => Promise<R>>
}

/** A method as the decorators handle it. */
export type AnyMethod = (this: unknown, ...args: unknown[]) => unknown

/** What a decorator knows about the method it decorates. */
export interface DecoratedMethod {
  /** Names the decorator and method in messages: `@Cacheable on EventService.get`. */
  readonly where: string
  /** The method's parameters; `undefined` when its source cannot be read. */
  readonly parameters: ParameterList | undefined
}

/** Builds the replacement of a method, once, when the class is defined. */
export type WrapMethod = (original: AnyMethod, method: DecoratedMethod) => AnyMethod

// A wrapper hides the method's source: stacked decorators read the parameters of the method underneath.
const parametersOf = new WeakMap<object, ParameterList | undefined>()

interface StandardContext {
  kind: string
  name: string | symbol
  static?: boolean
}

/**
 * A decorator that works in both modes, wrapping the method with `wrap`.
 * @param name the decorator as messages show it, e.g. `@Cacheable`
 */
export function decorateMethod(name: string, wrap: WrapMethod): (...args: unknown[]) => unknown {
  return (...args: unknown[]): unknown => {
    const [first, second, third] = args
    if (args.length === 2 && isStandardContext(second)) {
      const label = `${second.static === true ? 'static ' : ''}${nameOf(second.name)}`
      if (second.kind !== 'method' || typeof first !== 'function') {
        throw new InvalidOptionsError(
          `${name} decorates async methods, not a ${second.kind} ('${label}'); put it on a method that returns a Promise.`,
        )
      }
      return replace(first as AnyMethod, `${name} on ${label}`, wrap)
    }
    const descriptor = third as PropertyDescriptor | undefined
    const label = legacyLabel(first, second)
    if (typeof descriptor?.value !== 'function') {
      throw new InvalidOptionsError(
        `${name} decorates async methods, not properties, getters or setters ('${label}'); put it on a method that returns a Promise.`,
      )
    }
    descriptor.value = replace(descriptor.value as AnyMethod, `${name} on ${label}`, wrap)
    return descriptor
  }
}

function replace(original: AnyMethod, where: string, wrap: WrapMethod): AnyMethod {
  const parameters = parametersOf.has(original) ? parametersOf.get(original) : parameterNames(original)
  const wrapper = wrap(original, { where, parameters })
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true })
  parametersOf.set(wrapper, parameters)
  return wrapper
}

function isStandardContext(value: unknown): value is StandardContext {
  return typeof value === 'object' && value !== null && typeof (value as StandardContext).kind === 'string'
}

function legacyLabel(target: unknown, key: unknown): string {
  const method = nameOf(key as string | symbol)
  if (typeof target === 'function') return `${target.name}.${method}`
  const owner = (target as { constructor?: { name?: unknown } } | null)?.constructor?.name
  return typeof owner === 'string' && owner !== '' ? `${owner}.${method}` : method
}

function nameOf(name: string | symbol): string {
  return typeof name === 'symbol' ? `[${name.description ?? 'symbol'}]` : String(name)
}
