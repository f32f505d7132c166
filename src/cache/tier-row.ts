// One line of the tier table a front end aligns with: the server-side policy of a cache preset next to
// the browser's (Cache-Control) and the React Query `staleTime` / `gcTime` that match it.

import { parseDuration } from '../config/duration.js'
import type { CacheOptions } from './cache-options.js'
import type { CacheTierName } from './tiers.js'

/** React Query's own default `gcTime`: no tier keeps unused data for less. */
const MIN_GC_TIME_MS = 5 * 60_000

/** What {@link tierTable} gives for each preset. Plain numbers and strings, ready for JSON. */
export interface CacheTierRow {
  /** The preset's name, as `kit.cache(ns, { tier: name })` takes it. */
  name: CacheTierName
  /** How long the server keeps an entry fresh, in ms. */
  ttlMs: number
  /** The same as text, e.g. `'24h'`. */
  ttl: string
  /** How long past `ttl` the server still serves the entry while refreshing it (its `swr`), in ms; 0 for none. */
  swrMs: number
  /** The same as text, e.g. `'15m'`; `'0s'` for none. */
  swr: string
  /** How long a process keeps its in-memory (L1) copy, in ms; `null` when the preset has no L1. */
  l1TtlMs: number | null
  /** The same as text; `null` when the preset has no L1. */
  l1Ttl: string | null
  /** The Cache-Control header responses built from the preset carry. */
  cacheControl: string
  /**
   * The React Query `staleTime` that matches the browser's copy: `max-age` of {@link cacheControl} in ms
   * (0 for `no-cache`, `no-store` or no `max-age`: refetch on every use).
   */
  staleTime: number
  /**
   * The React Query `gcTime`: `staleTime` plus the Cache-Control `stale-while-revalidate` window (how long
   * the browser may still show the copy while refetching), and never less than React Query's default of
   * 5 minutes.
   */
  gcTime: number
}

/** The table row of the preset `name`. */
export function tierRow(name: CacheTierName, preset: CacheOptions & { cacheControl: string }): CacheTierRow {
  const where = `cache tier '${name}'`
  const ttlMs = parseDuration(preset.ttl ?? '1h', `${where} ttl`)
  const swrMs = parseDuration(preset.swr ?? 0, `${where} swr`)
  const l1 = preset.l1 === undefined || preset.l1 === false ? undefined : preset.l1
  // An L1 copy without its own ttl lives as long as the entry is fresh (how the cache resolves it).
  const l1Ttl = l1 === undefined ? undefined : (l1.ttl ?? preset.ttl ?? '1h')
  const directives = cacheControlDirectives(preset.cacheControl)
  const revalidates = directives.has('no-cache') || directives.has('no-store')
  const staleTime = revalidates ? 0 : seconds(directives.get('max-age')) * 1000
  const browserSwrMs = seconds(directives.get('stale-while-revalidate')) * 1000
  return {
    name,
    ttlMs,
    ttl: durationText(preset.ttl ?? '1h', ttlMs),
    swrMs,
    swr: durationText(preset.swr ?? 0, swrMs),
    l1TtlMs: l1Ttl === undefined ? null : parseDuration(l1Ttl, `${where} l1.ttl`),
    l1Ttl: l1Ttl === undefined ? null : durationText(l1Ttl, parseDuration(l1Ttl, `${where} l1.ttl`)),
    cacheControl: preset.cacheControl,
    staleTime,
    gcTime: Math.max(staleTime + browserSwrMs, MIN_GC_TIME_MS),
  }
}

/** Directive name (lower case) to its value (`''` for a bare directive such as `private`). */
function cacheControlDirectives(header: string): Map<string, string> {
  const directives = new Map<string, string>()
  for (const part of header.split(',')) {
    const [name = '', value = ''] = part.split('=', 2).map((piece) => piece.trim())
    if (name !== '') directives.set(name.toLowerCase(), value.replace(/^"|"$/g, ''))
  }
  return directives
}

function seconds(value: string | undefined): number {
  const parsed = value === undefined ? Number.NaN : Number(value)
  return Number.isFinite(parsed) && parsed > 0 ? Math.floor(parsed) : 0
}

/** A duration as the preset wrote it, or formatted in the largest whole unit when given in ms. */
function durationText(given: number | string, ms: number): string {
  if (typeof given === 'string') return given.trim()
  if (ms === 0) return '0s'
  for (const [unit, size] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}

const UNITS: readonly (readonly [string, number])[] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
]
