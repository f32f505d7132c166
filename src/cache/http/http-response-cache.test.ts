import { afterAll, describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../errors.js'
import { createRedkit } from '../../index.js'
import type { Cache } from '../cache.js'
import { type HttpCacheOptions, HttpResponseCache } from './http-response-cache.js'
import type { HttpRequestLike } from './request-key.js'

const kit = createRedkit({ url: 'memory', app: 'http-options', environment: {} })
afterAll(() => kit.close())

function build(options: unknown, cache: Cache = kit.cache('options', { tier: 'list' })) {
  return new HttpResponseCache<HttpRequestLike>(cache, options as HttpCacheOptions<HttpRequestLike>)
}

describe('cacheResponse options', () => {
  it('default to the cache’s Cache-Control and X-Cache', () => {
    const core = build({})
    expect(core.cacheControl).toBe('private, max-age=30')
    expect(core.statusHeader).toBe('X-Cache')
    expect(core.maxBodySize).toBe(1024 * 1024)
    expect(build({ cacheControl: false, statusHeader: false }).cacheControl).toBeUndefined()
    expect(build({ statusHeader: false }).statusHeader).toBeUndefined()
    expect(build({}, kit.cache('no-tier')).cacheControl).toBeUndefined()
  })

  it('fail at construction, naming the option, with a suggestion for typos', () => {
    const cases: [unknown, RegExp][] = [
      [{ shard: true }, /shard.*did you mean 'shared'/i],
      [{ key: 'user' }, /key must be a function/],
      [{ shared: 'yes' }, /shared must be true or false/],
      [{ vary: 'accept' }, /vary must be an array/],
      [{ vary: ['bad header'] }, /vary must list header names/],
      [{ sessionCookies: [''] }, /sessionCookies must be an array of names/],
      [{ authenticated: () => true, sessionCookies: ['sid'] }, /sessionCookies only feeds the default/],
      [{ cacheControl: 'max-age=1\r\nx: y' }, /cacheControl must be false or a header value/],
      [{ statusHeader: 'X Cache' }, /statusHeader must be false or a header name/],
      [{ maxBodySize: -1 }, /maxBodySize must be a whole number/],
      [{ waitTimeout: 0 }, /waitTimeout must be greater than 0/],
      [{ waitTimeout: 'soon' }, /waitTimeout/],
      [{ ttl: 'forever' }, /ttl/],
      [{ tags: ['a'] }, /tags must be a function/],
    ]
    for (const [options, message] of cases) {
      expect(() => build(options), JSON.stringify(options)).toThrow(InvalidOptionsError)
      expect(() => build(options), JSON.stringify(options)).toThrow(message)
    }
  })

  it('need a cache', () => {
    expect(() => new HttpResponseCache(undefined as unknown as Cache)).toThrow(/cacheResponse needs a cache/)
    expect(() => new HttpResponseCache({} as Cache)).toThrow(InvalidOptionsError)
  })
})
