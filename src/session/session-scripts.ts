// The session store's Lua scripts (per-user index upkeep) and their in-memory twins. Each touches one
// key, so no hash tags are needed: a session and its user's index are never written by the same script.

import type { ScriptDefinition } from '../store/store.js'
import indexPruneLua from './lua/index-prune.lua'
import indexTrackLua from './lua/index-track.lua'

export const INDEX_TRACK = 'session.indexTrack'
export const INDEX_PRUNE = 'session.indexPrune'

/** The scripts, for `store.defineScript`. */
export const sessionScripts: readonly ScriptDefinition[] = [
  {
    name: INDEX_TRACK,
    lua: indexTrackLua,
    memory: (context, [key], [storedId, expiresAt, nowText, grace]) => {
      const now = Number(nowText)
      const old = context.hget(key!, storedId!)
      const created = (old === null ? undefined : /:(\d+)$/.exec(old)?.[1]) ?? nowText!
      context.hset(key!, { [storedId!]: `${expiresAt}:${created}` })
      const entries = context.hgetall(key!)
      const overdue: string[] = []
      let latest = 0
      let forever = false
      for (const [field, value] of Object.entries(entries)) {
        const expires = Number(/^(\d+)/.exec(value)?.[1] ?? 0)
        if (expires === 0) forever = true
        else {
          if (expires > latest) latest = expires
          if (expires < now) overdue.push(field)
        }
      }
      if (forever) context.persist(key!)
      else context.pexpire(key!, Math.max(latest - now + Number(grace), 1))
      // Lua's table.sort compares bytes; stored ids are ASCII, where code-unit order is the same.
      overdue.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      return overdue.flatMap((field) => [field, entries[field]!])
    },
  },
  {
    name: INDEX_PRUNE,
    lua: indexPruneLua,
    memory: (context, [key], pairs) => {
      let removed = 0
      for (let i = 0; i < pairs.length; i += 2) {
        if (context.hget(key!, pairs[i]!) === pairs[i + 1]) removed += context.hdel(key!, [pairs[i]!])
      }
      return removed
    },
  },
]
