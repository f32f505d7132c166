// The HTTP response cacheResponse stores (status, content type, body, strong ETag, the handler's own
// headers) and the rules that decide whether a captured response may be stored at all.

import { isUtf8 } from 'node:buffer'
import { createHash } from 'node:crypto'
import type { OutgoingHttpHeader } from 'node:http'

/** A stored response: what every hit reads, kept to a few plain fields. */
export interface CachedResponse {
  /** Format version: a record of another version is not served. */
  v: 1
  status: number
  /** The Content-Type the handler sent, if any. */
  type?: string
  /** The body: UTF-8 text, or base64 when {@link encoding} says so. */
  body: string
  /** Set when the body is not UTF-8 text and is stored as base64. */
  encoding?: 'base64'
  /** A strong ETag: a hash of the body. */
  etag: string
  /** Other headers the handler set (lower-case names), replayed on hits. */
  headers?: Record<string, string | string[]>
}

/** Response headers by lower-case name, as `res.getHeaders()` gives them. */
export type HeaderMap = Readonly<Record<string, OutgoingHttpHeader | undefined>>

/** A response as the middleware captured it. */
export interface CapturedResponse {
  status: number
  /** The headers when the response ended (`res.getHeaders()`). */
  headers: HeaderMap
  /** The headers already set before the handler ran (by earlier middleware). */
  before: HeaderMap
  body: Buffer
}

/** Why a captured response was not stored. */
export type UncacheableReason =
  | 'status'
  | 'set-cookie'
  | 'no-store'
  | 'private'
  | 'vary'
  | 'content-encoding'
  | 'too-large'

/** What the storing rules need from the middleware's options. */
export interface StoreRules {
  /** The entry is scoped to one user or tenant (`key` option): `Cache-Control: private` may be stored. */
  scoped: boolean
  /** Request headers (lower case) the key varies on. */
  vary: ReadonlySet<string>
  maxBodySize: number
}

/**
 * Statuses stored: the 2xx ones RFC 9111 lets a cache store by default. 201, 202 and 205 answer actions,
 * 206 is a part of a body.
 */
const STORED_STATUSES = new Set([200, 203, 204])

/** Headers never replayed from an entry: recomputed, per connection, or sent by the middleware itself. */
const NOT_REPLAYED = new Set([
  'content-type',
  'content-length',
  'etag',
  'vary',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'trailer',
  'upgrade',
])

/** The record to store for a captured response, or why it must not be stored. */
export function toCachedResponse(
  captured: CapturedResponse,
  rules: StoreRules,
  statusHeader: string | undefined,
): CachedResponse | UncacheableReason {
  const { status, headers, before, body } = captured
  if (!STORED_STATUSES.has(status)) return 'status'
  if (headers['set-cookie'] !== undefined) return 'set-cookie'
  // A body compressed by a layer inside the middleware would reach clients that cannot decode it.
  if (headers['content-encoding'] !== undefined) return 'content-encoding'
  if (body.length > rules.maxBodySize) return 'too-large'
  const cacheControl = setByHandler(headers, before, 'cache-control')
  if (cacheControl !== undefined) {
    const directives = directiveNames(cacheControl)
    if (directives.includes('no-store')) return 'no-store'
    if (directives.includes('private') && !rules.scoped) return 'private'
  }
  const vary = setByHandler(headers, before, 'vary')
  if (vary !== undefined && !varyCovered(vary, headerText(before.vary), rules.vary)) return 'vary'

  const record: CachedResponse = { v: 1, status, body: '', etag: strongEtag(body) }
  const type = headers['content-type']
  if (type !== undefined) record.type = headerText(type)
  if (isUtf8(body)) record.body = body.toString('utf8')
  else {
    record.body = body.toString('base64')
    record.encoding = 'base64'
  }
  let replayed: Record<string, string | string[]> | undefined
  for (const name of Object.keys(headers)) {
    if (NOT_REPLAYED.has(name) || name === statusHeader) continue
    const value = setByHandler(headers, before, name)
    if (value === undefined) continue
    replayed ??= {}
    replayed[name] = Array.isArray(value) ? value.map(String) : String(value)
  }
  if (replayed !== undefined) record.headers = replayed
  return record
}

/** Whether a value read from the cache is a record this version can serve. */
export function isCachedResponse(value: unknown): value is CachedResponse {
  if (typeof value !== 'object' || value === null) return false
  const record = value as Partial<CachedResponse>
  return (
    record.v === 1 &&
    typeof record.status === 'number' &&
    typeof record.body === 'string' &&
    typeof record.etag === 'string'
  )
}

/** The body bytes of a record. */
export function bodyOf(record: CachedResponse): Buffer {
  return Buffer.from(record.body, record.encoding === 'base64' ? 'base64' : 'utf8')
}

/** A strong ETag for a body: its SHA-1, base64url. */
export function strongEtag(body: Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`
}

/**
 * Whether `If-None-Match` matches an ETag. RFC 9110 compares weakly here: `W/"x"` matches `"x"`, and
 * `*` matches any current representation.
 */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === etag) return true
  for (const part of ifNoneMatch.split(',')) {
    const tag = part.trim()
    if (tag === '*' || tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag)) return true
  }
  return false
}

/** A header value as text (several values joined by `, `), or undefined. */
export function headerText(value: OutgoingHttpHeader | undefined): string | undefined {
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.join(', ') : String(value)
}

/** `Vary` with `names` added (each once, case ignored), keeping what is already there. */
export function mergeVary(existing: OutgoingHttpHeader | undefined, names: readonly string[]): string {
  const current = headerText(existing)
  if (current === undefined || current.trim() === '') return names.join(', ')
  const present = new Set(directiveNames(current))
  if (present.has('*')) return '*'
  const missing = names.filter((name) => !present.has(name.toLowerCase()))
  return missing.length === 0 ? current : `${current}, ${missing.join(', ')}`
}

/** The header's value when the handler set or changed it (not when it only came from earlier middleware). */
function setByHandler(headers: HeaderMap, before: HeaderMap, name: string): OutgoingHttpHeader | undefined {
  const value = headers[name]
  if (value === undefined) return undefined
  const earlier = before[name]
  if (earlier === undefined) return value
  return headerText(earlier) === headerText(value) ? undefined : value
}

/** Lower-case names of a comma-separated list of directives or header names (`max-age=60` → `max-age`). */
function directiveNames(value: OutgoingHttpHeader): string[] {
  return (headerText(value) ?? '')
    .split(',')
    .map((part) => part.split('=')[0]!.trim().toLowerCase())
    .filter((name) => name !== '')
}

/**
 * Whether the request headers a handler's `Vary` names are all part of the key (`Accept-Encoding` needs
 * no key part: a compressed body is never stored). Names that earlier middleware put there (CORS's
 * `Origin`) change headers those middleware set on every response, not the stored body.
 */
function varyCovered(
  vary: OutgoingHttpHeader,
  earlier: string | undefined,
  keyed: ReadonlySet<string>,
): boolean {
  const inherited = new Set(earlier === undefined ? [] : directiveNames(earlier))
  for (const name of directiveNames(vary)) {
    if (name === '*') return false
    if (!keyed.has(name) && name !== 'accept-encoding' && !inherited.has(name)) return false
  }
  return true
}
