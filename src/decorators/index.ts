// Entry point of 'redkit/decorators': Spring-style cache decorators for async methods, working with
// TypeScript's standard decorators and with experimentalDecorators (NestJS) alike.

export type { CacheEvictOptions } from './cache-evict.js'
export { CacheEvict } from './cache-evict.js'
export type { CachePutOptions } from './cache-put.js'
export { CachePut } from './cache-put.js'
export type { CacheableOptions } from './cacheable.js'
export { Cacheable } from './cacheable.js'
export type { CacheSource, KeyOption, TagsOption } from './decorator-options.js'
export type { CacheMethodDecorator } from './method-decorator.js'
