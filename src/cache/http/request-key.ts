// What identifies a cached HTTP response: the path, the query with its parameters sorted, the request
// headers it varies on and a user or tenant scope; and how a request is recognised as authenticated.

import type { IncomingHttpHeaders } from 'node:http'
import { KeyBuilder } from '../../keys/key-builder.js'

/** What the HTTP cache reads from a request of any framework. */
export interface HttpRequestLike {
  method: string
  headers: IncomingHttpHeaders
}

/** The cookie names that mark a request as having a session by default. */
export const DEFAULT_SESSION_COOKIES: readonly string[] = ['connect.sid', 'sessionId', 'session', 'sid']

/** Formats the cache keys of requests (relative to the cache, which adds its own prefix). */
export class RequestKeys {
  readonly #keys = new KeyBuilder('')
  readonly #vary: readonly string[]

  /** @param vary lower-case request header names the key includes */
  constructor(vary: readonly string[]) {
    this.#vary = vary
  }

  /**
   * The key of a request: `scope` (the `key` option's value) or none for an entry shared by every
   * client, the path, the query (parameters sorted by name) and the varied header values.
   */
  keyOf(url: string, headers: IncomingHttpHeaders, scope: string | undefined): string {
    const mark = url.indexOf('?')
    const path = mark === -1 ? url : url.slice(0, mark)
    const query = mark === -1 || mark === url.length - 1 ? '' : sortedQuery(url.slice(mark + 1))
    const vary = this.#vary
    if (vary.length === 0) {
      return scope === undefined
        ? this.#keys.build('s', path, query)
        : this.#keys.build('u', scope, path, query)
    }
    const parts: string[] = scope === undefined ? ['s', path, query] : ['u', scope, path, query]
    for (const name of vary) {
      const value = headers[name]
      parts.push(value === undefined ? '' : Array.isArray(value) ? value.join(', ') : value)
    }
    return this.#keys.build(...parts)
  }
}

/**
 * A query string with its parameters in a stable order: sorted by name, the values of a repeated name
 * kept in their order (`?tag=b&tag=a` may mean an ordered list), and the encoding normalised.
 */
export function sortedQuery(raw: string): string {
  const params = new URLSearchParams(raw)
  params.sort()
  return params.toString()
}

/**
 * The default test for an authenticated request: an `Authorization` header, a session cookie (one of
 * `sessionCookies`, also with a `__Host-` or `__Secure-` prefix), or a `user` set on the request by
 * authentication middleware (passport and the like).
 */
export function looksAuthenticated(req: HttpRequestLike, sessionCookies: ReadonlySet<string>): boolean {
  const headers = req.headers
  if (headers.authorization !== undefined) return true
  const user = (req as { user?: unknown }).user
  if (user !== undefined && user !== null && user !== false) return true
  const cookie = headers.cookie
  return cookie !== undefined && hasCookie(cookie, sessionCookies)
}

/** Whether a Cookie header carries one of `names`. */
export function hasCookie(header: string, names: ReadonlySet<string>): boolean {
  if (names.size === 0) return false
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    let name = (eq === -1 ? pair : pair.slice(0, eq)).trim()
    if (name.startsWith('__Host-')) name = name.slice(7)
    else if (name.startsWith('__Secure-')) name = name.slice(9)
    if (names.has(name)) return true
  }
  return false
}
