import { describe, expect, it } from 'vitest'
import {
  type CapturedResponse,
  etagMatches,
  isCachedResponse,
  mergeVary,
  type StoreRules,
  strongEtag,
  toCachedResponse,
} from './cached-response.js'

const rules: StoreRules = { scoped: false, vary: new Set(['accept-language']), maxBodySize: 100 }

function captured(overrides: Partial<CapturedResponse> = {}): CapturedResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': '7' },
    before: {},
    body: Buffer.from('{"a":1}'),
    ...overrides,
  }
}

describe('toCachedResponse', () => {
  it('keeps status, type, UTF-8 body and a strong ETag of the body', () => {
    const record = toCachedResponse(captured(), rules, 'x-cache')
    expect(record).toEqual({
      v: 1,
      status: 200,
      type: 'application/json; charset=utf-8',
      body: '{"a":1}',
      etag: strongEtag(Buffer.from('{"a":1}')),
    })
    expect(isCachedResponse(record)).toBe(true)
  })

  it('stores a body that is not UTF-8 as base64', () => {
    const body = Buffer.from([0xff, 0xfe, 0x00, 0x80])
    const record = toCachedResponse(captured({ body }), rules, undefined)
    expect(record).toMatchObject({ body: body.toString('base64'), encoding: 'base64' })
  })

  it('stores 200, 203 and 204 only', () => {
    for (const status of [200, 203, 204])
      expect(typeof toCachedResponse(captured({ status }), rules, undefined)).toBe('object')
    for (const status of [201, 202, 206, 301, 304, 404, 500]) {
      expect(toCachedResponse(captured({ status }), rules, undefined)).toBe('status')
    }
  })

  it('refuses Set-Cookie, a compressed body and a body over maxBodySize', () => {
    const headers = { 'set-cookie': ['a=1'] }
    expect(toCachedResponse(captured({ headers }), rules, undefined)).toBe('set-cookie')
    expect(toCachedResponse(captured({ headers: { 'content-encoding': 'gzip' } }), rules, undefined)).toBe(
      'content-encoding',
    )
    expect(toCachedResponse(captured({ body: Buffer.alloc(101) }), rules, undefined)).toBe('too-large')
    expect(typeof toCachedResponse(captured({ body: Buffer.alloc(100) }), rules, undefined)).toBe('object')
  })

  it('honours no-store always and private on shared entries, when the handler set them', () => {
    const noStore = { headers: { 'cache-control': 'max-age=0, No-Store' } }
    expect(toCachedResponse(captured(noStore), rules, undefined)).toBe('no-store')
    expect(toCachedResponse(captured(noStore), { ...rules, scoped: true }, undefined)).toBe('no-store')
    const personal = { headers: { 'cache-control': 'private="x-user", max-age=60' } }
    expect(toCachedResponse(captured(personal), rules, undefined)).toBe('private')
    const scoped = toCachedResponse(captured(personal), { ...rules, scoped: true }, undefined)
    expect(scoped).toMatchObject({ headers: { 'cache-control': 'private="x-user", max-age=60' } })
    // Set by earlier middleware for every response: not the handler's decision about this one.
    const inherited = { headers: { 'cache-control': 'no-store' }, before: { 'cache-control': 'no-store' } }
    const kept = toCachedResponse(captured(inherited), rules, undefined)
    expect(typeof kept).toBe('object')
    expect(kept).not.toHaveProperty('headers')
  })

  it('refuses a Vary the key does not cover, unless earlier middleware set it', () => {
    expect(toCachedResponse(captured({ headers: { vary: 'Accept-Language' } }), rules, undefined)).not.toBe(
      'vary',
    )
    expect(toCachedResponse(captured({ headers: { vary: 'accept-encoding' } }), rules, undefined)).not.toBe(
      'vary',
    )
    expect(toCachedResponse(captured({ headers: { vary: 'Cookie' } }), rules, undefined)).toBe('vary')
    expect(toCachedResponse(captured({ headers: { vary: '*' } }), rules, undefined)).toBe('vary')
    const cors = { headers: { vary: 'Origin' }, before: { vary: 'Origin' } }
    expect(typeof toCachedResponse(captured(cors), rules, undefined)).toBe('object')
    const added = { headers: { vary: 'Origin, User-Agent' }, before: { vary: 'Origin' } }
    expect(toCachedResponse(captured(added), rules, undefined)).toBe('vary')
  })

  it('replays headers the handler set or changed, never per-connection ones or the status header', () => {
    const record = toCachedResponse(
      captured({
        headers: {
          'content-type': 'text/plain',
          'content-length': '7',
          'x-total-count': 5,
          link: ['<a>; rel="next"', '<b>; rel="prev"'],
          'x-request-id': 'r-2',
          'x-powered-by': 'Express',
          etag: 'W/"weak"',
          date: 'now',
          connection: 'keep-alive',
          'x-cache': 'MISS',
        },
        before: { 'x-request-id': 'r-1', 'x-powered-by': 'Express' },
      }),
      rules,
      'x-cache',
    )
    expect(record).toMatchObject({
      headers: { 'x-total-count': '5', link: ['<a>; rel="next"', '<b>; rel="prev"'], 'x-request-id': 'r-2' },
    })
    expect(Object.keys((record as { headers: object }).headers).sort()).toEqual([
      'link',
      'x-request-id',
      'x-total-count',
    ])
  })
})

describe('etagMatches', () => {
  const etag = '"abc"'
  it('compares weakly, in lists, with * for anything', () => {
    expect(etagMatches('"abc"', etag)).toBe(true)
    expect(etagMatches('W/"abc"', etag)).toBe(true)
    expect(etagMatches('"x", W/"abc" ,"y"', etag)).toBe(true)
    expect(etagMatches('*', etag)).toBe(true)
    expect(etagMatches('"abcd"', etag)).toBe(false)
    expect(etagMatches('abc', etag)).toBe(false)
    expect(etagMatches('', etag)).toBe(false)
  })
})

describe('mergeVary', () => {
  it('adds missing names once, case ignored, and keeps *', () => {
    expect(mergeVary(undefined, ['Accept-Language'])).toBe('Accept-Language')
    expect(mergeVary('Origin', ['Accept-Language'])).toBe('Origin, Accept-Language')
    expect(mergeVary('origin, accept-language', ['Accept-Language'])).toBe('origin, accept-language')
    expect(mergeVary(['Origin', 'Accept'], ['X-A', 'Accept'])).toBe('Origin, Accept, X-A')
    expect(mergeVary('*', ['Accept'])).toBe('*')
  })
})

describe('isCachedResponse', () => {
  it('accepts only records of this format version', () => {
    expect(isCachedResponse({ v: 1, status: 200, body: '', etag: '"x"' })).toBe(true)
    expect(isCachedResponse({ v: 2, status: 200, body: '', etag: '"x"' })).toBe(false)
    expect(isCachedResponse({ status: 200, body: '' })).toBe(false)
    expect(isCachedResponse('page')).toBe(false)
    expect(isCachedResponse(null)).toBe(false)
  })
})
