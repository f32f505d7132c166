// Turns what an in-memory script twin returns into the reply Redis gives for the same Lua value.
// Lua numbers reach the client truncated to integers, false as nil, tables as arrays: twins get the same.

import { ScriptError } from '../../errors.js'
import type { ScriptReply } from '../store.js'

/**
 * Converts a twin's return value the way Redis converts a Lua value:
 * - numbers are truncated toward zero (`3.9` → `3`, `-2.7` → `-2`), as Lua numbers become integer replies;
 * - `null`/`undefined`/`false` become nil (`null`), `true` becomes `1`;
 * - arrays convert item by item; inside an array `null` is a nil element (Lua `false`) while
 *   `undefined` or a hole ends the array (Lua `nil` ends a table's array part);
 * - `{ ok: string }` is a status reply (its text), `{ err: string }` an error reply (rejects).
 * @throws ScriptError for an error reply or a value Redis could not produce (e.g. a Promise)
 */
export function toScriptReply(value: unknown, scriptName: string): ScriptReply {
  if (value === null || value === undefined || value === false) return null
  if (value === true) return 1
  if (typeof value === 'string') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new ScriptError(`Script '${scriptName}' returned ${value}; a twin must return finite numbers.`)
    }
    // `|| 0` turns -0 into 0: Redis has no negative zero integer.
    return Math.trunc(value) || 0
  }
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (Array.isArray(value)) {
    const reply: ScriptReply[] = []
    for (const item of value) {
      if (item === undefined) break
      reply.push(toScriptReply(item, scriptName))
    }
    return reply
  }
  if (typeof value === 'object') {
    const table = value as { ok?: unknown; err?: unknown; then?: unknown }
    if (typeof table.err === 'string') throw new ScriptError(`Script '${scriptName}' failed: ${table.err}`)
    if (typeof table.ok === 'string') return table.ok
    if (typeof table.then === 'function') {
      throw new ScriptError(
        `Script '${scriptName}' returned a Promise; in-memory twins must be synchronous so that they stay atomic.`,
      )
    }
  }
  throw new ScriptError(
    `Script '${scriptName}' returned an unsupported ${typeof value}; twins return null, numbers, strings or arrays of them.`,
  )
}
