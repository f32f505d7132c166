// The Lua scripts of tag invalidation, each with its in-memory twin. Every script touches keys of one
// hash slot only, so all of them run unchanged on Redis Cluster.

import type { MemoryScriptContext, ScriptDefinition } from '../../store/store.js'
import indexAddLua from './tag-index-add.lua'
import invalidateLua from './tag-invalidate.lua'
import sweepDeleteLua from './tag-sweep-delete.lua'
import versionLua from './tag-version.lua'

const HEADER_FIELDS = 6

/** Get-or-create the version of a tag, refreshing its ttl. */
export const tagVersionScript: ScriptDefinition = {
  name: 'tags.version',
  lua: versionLua,
  memory(context, keys, args) {
    const key = keys[0]!
    const version = context.get(key)
    if (version === null) {
      context.set(key, args[0]!, { ttlMs: Number(args[1]) })
      return args[0]!
    }
    context.pexpire(key, Number(args[1]))
    return version
  },
}

/**
 * Delete a tag's version, record the old one as a pending sweep and publish the bus message. The
 * embedded store's twin does not publish: the caller publishes on the in-process bus instead.
 */
export const tagInvalidateScript: ScriptDefinition = {
  name: 'tags.invalidate',
  lua: invalidateLua,
  memory(context, keys, args) {
    const old = context.get(keys[0]!)
    if (old === null) return null
    context.del(keys[0]!)
    context.sadd(keys[1]!, [old])
    context.pexpire(keys[1]!, Number(args[0]))
    return old
  },
}

/** Add an entry key to a tag index, extending the index ttl as needed. */
export const tagIndexAddScript: ScriptDefinition = {
  name: 'tags.indexAdd',
  lua: indexAddLua,
  memory(context, keys, args) {
    const key = keys[0]!
    const existed = context.exists(key)
    context.sadd(key, [args[0]!])
    const ttl = Number(args[1])
    if (ttl === 0) context.persist(key)
    else if (!existed) context.pexpire(key, ttl)
    else {
      const current = context.pttl(key)
      if (current >= 0 && current < ttl) context.pexpire(key, ttl)
    }
    return 1
  },
}

/** Delete entries whose envelope header still carries a given `,tag=version,` needle. */
export const tagSweepDeleteScript: ScriptDefinition = {
  name: 'tags.sweepDelete',
  lua: sweepDeleteLua,
  memory(context: MemoryScriptContext, keys, args) {
    const needle = args[0]!
    let removed = 0
    for (const key of keys) {
      let value: string | null
      try {
        value = context.get(key)
      } catch {
        continue // another type under the key: not ours to delete
      }
      if (value === null) continue
      let stop = -1
      for (let i = 0; i < HEADER_FIELDS; i++) {
        stop = value.indexOf('|', stop + 1)
        if (stop < 0) break
      }
      if (stop >= 0 && value.slice(0, stop + 1).includes(needle)) {
        context.del(key)
        removed++
      }
    }
    return removed
  },
}

/** Every tag script, for registration on a store. */
export const tagScripts: readonly ScriptDefinition[] = [
  tagVersionScript,
  tagInvalidateScript,
  tagIndexAddScript,
  tagSweepDeleteScript,
]
