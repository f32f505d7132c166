// `redkit keys`: lists the keys under the prefix that match a glob, with SCAN on every master (never
// KEYS), stopping at a limit so a large keyspace cannot flood the terminal.

import { escapeGlob } from '../keys/key-builder.js'
import type { Redkit } from '../redkit.js'
import type { Output } from './output.js'

/** Options of {@link listKeys}. */
export interface KeysOptions {
  /** Glob relative to the prefix (Redis MATCH syntax). @default '*' */
  pattern?: string
  /** Most keys listed. @default 100 */
  limit?: number
}

/** The result of {@link listKeys}. */
export interface KeysResult {
  prefix: string
  pattern: string
  keys: string[]
  /** More keys matched than `limit`. */
  truncated: boolean
}

/** Lists up to `limit` full keys matching `pattern` under the kit's prefix. */
export async function listKeys(kit: Redkit, options: KeysOptions = {}): Promise<KeysResult> {
  const pattern = options.pattern ?? '*'
  const limit = options.limit ?? 100
  const seen = new Set<string>()
  let truncated = false
  // The prefix matches only itself; the glob after it is the user's.
  const match = escapeGlob(kit.prefix) + pattern
  scan: for await (const batch of kit.store.scan({ match, count: 1000 })) {
    for (const key of batch) {
      if (seen.has(key)) continue
      if (seen.size >= limit) {
        truncated = true
        break scan
      }
      seen.add(key)
    }
  }
  return { prefix: kit.prefix, pattern, keys: [...seen].sort(), truncated }
}

/** Writes one key per line (a note on stderr when truncated), or JSON. */
export function printKeys(result: KeysResult, output: Output, json: boolean): void {
  if (json) {
    output.json(result)
    return
  }
  for (const key of result.keys) output.line(key)
  if (result.truncated) output.note(`(more than ${result.keys.length} keys match; raise --limit to see more)`)
}
