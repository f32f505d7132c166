import { describe, expect, it } from 'vitest'
import { hasCookie, looksAuthenticated, RequestKeys, sortedQuery } from './request-key.js'

describe('RequestKeys', () => {
  const keys = new RequestKeys([])

  it('gives queries with the same parameters in any order, or encoded alike, one key', () => {
    expect(keys.keyOf('/p?b=2&a=1', {}, undefined)).toBe(keys.keyOf('/p?a=1&b=2', {}, undefined))
    expect(keys.keyOf('/p?a=%31&b=2', {}, undefined)).toBe(keys.keyOf('/p?b=2&a=1', {}, undefined))
    expect(keys.keyOf('/p?q=a+b', {}, undefined)).toBe(keys.keyOf('/p?q=a%20b', {}, undefined))
    expect(keys.keyOf('/p?', {}, undefined)).toBe(keys.keyOf('/p', {}, undefined))
    expect(keys.keyOf('/p?a=1', {}, undefined)).not.toBe(keys.keyOf('/p?a=2', {}, undefined))
    expect(keys.keyOf('/p?t=x&t=y', {}, undefined)).not.toBe(keys.keyOf('/p?t=y&t=x', {}, undefined))
  })

  it('keeps scoped entries apart from shared ones and from each other, whatever the input', () => {
    const shared = keys.keyOf('/me', {}, undefined)
    expect(keys.keyOf('/me', {}, 'alice')).not.toBe(shared)
    expect(keys.keyOf('/me', {}, 'alice')).not.toBe(keys.keyOf('/me', {}, 'bob'))
    // A separator in user input cannot forge another key.
    expect(keys.keyOf('/b', {}, 'a:s')).not.toBe(keys.keyOf('/s:/b', {}, 'a'))
    expect(keys.keyOf('/x', {}, 's')).not.toBe(keys.keyOf('/x', {}, undefined))
  })

  it('adds the values of the vary headers', () => {
    const byLanguage = new RequestKeys(['accept-language'])
    const en = byLanguage.keyOf('/g', { 'accept-language': 'en' }, undefined)
    expect(en).not.toBe(byLanguage.keyOf('/g', { 'accept-language': 'fr' }, undefined))
    expect(en).toBe(byLanguage.keyOf('/g', { 'accept-language': 'en', cookie: 'x=1' }, undefined))
    expect(byLanguage.keyOf('/g', {}, undefined)).toBe(
      byLanguage.keyOf('/g', { 'accept-language': '' }, undefined),
    )
  })
})

describe('sortedQuery', () => {
  it('sorts by name and keeps the order of repeated names', () => {
    expect(sortedQuery('z=1&a=2&m=3&a=1')).toBe('a=2&a=1&m=3&z=1')
  })
})

describe('authenticated requests', () => {
  const sessions = new Set(['connect.sid', 'sid'])
  const req = (headers: Record<string, string>, user?: unknown) => ({ method: 'GET', headers, user })

  it('see an Authorization header, a session cookie or req.user', () => {
    expect(looksAuthenticated(req({ authorization: 'Bearer t' }), sessions)).toBe(true)
    expect(looksAuthenticated(req({ cookie: 'a=1; connect.sid=s%3A1' }), sessions)).toBe(true)
    expect(looksAuthenticated(req({ cookie: '__Secure-sid=2' }), sessions)).toBe(true)
    expect(looksAuthenticated(req({}, { id: 1 }), sessions)).toBe(true)
  })

  it('do not count analytics cookies or an empty user', () => {
    expect(looksAuthenticated(req({ cookie: '_ga=GA1; consent=yes; sidebar=open' }), sessions)).toBe(false)
    expect(looksAuthenticated(req({}, null), sessions)).toBe(false)
    expect(looksAuthenticated(req({}), sessions)).toBe(false)
    expect(hasCookie('connect.sid=1', new Set())).toBe(false)
    expect(hasCookie(' sid ; other=1', sessions)).toBe(true)
  })
})
