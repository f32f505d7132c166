// Tag versions: invalidateTags deletes one version key per tag (O(1) whatever the tag's size); an entry
// records the versions it was built under and is a miss once any differs. Versions are random, never
// counters or clocks, and are cached in process for a short bound, kept fresh by the bus.

import { randomBytes } from 'node:crypto'
import { errorMessage, InvalidOptionsError } from '../../errors.js'
import type { FeatureContext } from '../../feature-context.js'
import { escapeGlob, type KeyBuilder } from '../../keys/key-builder.js'
import { cacheInvalidateChannel } from '../../metrics/tracing-channels.js'
import { tagIndexAddScript, tagInvalidateScript, tagScripts, tagVersionScript } from './tag-scripts.js'
import { type TagKeyLayout, TagSweeper } from './tag-sweeper.js'

/** Resolved tag settings. */
export interface TagSettings {
  /** How long a version read from Redis is trusted without bus traffic. */
  trustMs: number
  /** Time to live of version keys, refreshed on every read. */
  versionTtlMs: number
  /** Keep per-tag index sets and sweep invalidated entries. */
  reclaim: boolean
  /** Sweeper pace, in entries per second. */
  sweepRate: number
}

const BUS_CHANNEL = 'tags'
// Pending sweeps outlive any index set they point to in practice; an unswept index still expires by its ttl.
const PENDING_TTL_MS = 30 * 86_400_000
const RESUME_EVERY_MS = 10 * 60_000
// Extra life of an index set past the entries it lists, so the sweeper always finds them.
const INDEX_MARGIN_MS = 3_600_000

interface LocalVersion {
  version: string
  at: number
}

/** Most tag fields remembered as current at once; the memory is cleared whole when full. */
const MATCHED_MAX = 1024

/** The versions of every tag of one redkit instance. Internal: reached through `kit.invalidateTags` and cache options. */
export class TagVersions {
  readonly #context: FeatureContext
  readonly #settings: TagSettings
  readonly #layout: TagKeyLayout
  readonly #local = new Map<string, LocalVersion>()
  /** Tag fields found current, with until when that holds (see {@link matches}); cleared by invalidations. */
  readonly #matched = new Map<string, number>()
  /** The field matched last: most reads in a row carry the same one, and comparing beats hashing it. */
  #lastMatched = ''
  #lastMatchedUntil = 0
  readonly #fetching = new Map<string, Promise<string>>()
  /** Bumped by every invalidation seen here; a version fetched across a bump is not trusted. */
  #generation = 0
  readonly sweeper: TagSweeper | undefined
  readonly #resumeTimer: NodeJS.Timeout | undefined

  constructor(context: FeatureContext, settings: TagSettings) {
    this.#context = context
    this.#settings = settings
    this.#layout = layout(context.keys.scope('tag'))
    for (const script of tagScripts) context.store.defineScript(script)
    void context.bus
      .subscribe<{ tags?: unknown }>(BUS_CHANNEL, (payload) => {
        if (Array.isArray(payload?.tags))
          this.#forget(payload.tags.filter((t): t is string => typeof t === 'string'))
      })
      .catch((error: unknown) => {
        context.logger.warn(
          { error: errorMessage(error) },
          'redkit: tag bus subscription failed; versions refresh by time only',
        )
      })
    context.bus.onReconnect(() => {
      // Invalidations published while disconnected were missed: trust nothing cached.
      this.#generation++
      this.#local.clear()
      this.#forgetMatches()
    })
    if (settings.reclaim) {
      this.sweeper = new TagSweeper(context, this.#layout, settings.sweepRate)
      const resume = () => {
        this.sweeper?.resume().catch((error: unknown) => {
          context.logger.debug(
            { error: errorMessage(error) },
            'redkit: could not look for unfinished tag sweeps',
          )
        })
      }
      setTimeout(resume, 1000).unref()
      this.#resumeTimer = setInterval(resume, RESUME_EVERY_MS)
      this.#resumeTimer.unref()
    }
    context.registerMetrics('tags', 'sweeper', () => this.sweeper?.metrics ?? { disabled: true })
    context.onClose(() => {
      if (this.#resumeTimer) clearInterval(this.#resumeTimer)
      this.sweeper?.stop()
    })
  }

  /** Tag names as stored in envelopes and version keys (validated, URI-encoded). */
  encode(tags: readonly string[]): string[] {
    if (!Array.isArray(tags)) throw new InvalidOptionsError('tags must be an array of strings.')
    return tags.map((tag) => {
      if (typeof tag !== 'string' || tag === '') {
        throw new InvalidOptionsError(`A tag must be a non-empty string, got ${JSON.stringify(tag)}.`)
      }
      try {
        return encodeURIComponent(tag)
      } catch {
        // URIError: half of a surrogate pair, which no UTF-8 key could hold apart from another.
        throw new InvalidOptionsError(`A tag must be well-formed text, got ${JSON.stringify(tag)}.`)
      }
    })
  }

  /** Current versions of encoded tags, from the process when recent enough, else from the store. */
  current(tags: readonly string[]): Promise<string[]> {
    const now = Date.now()
    let missing = false
    const versions: string[] = []
    for (const tag of tags) {
      const local = this.#local.get(tag)
      if (local && now - local.at < this.#settings.trustMs) versions.push(local.version)
      else {
        missing = true
        break
      }
    }
    if (!missing) return Promise.resolve(versions)
    return Promise.all(tags.map((tag) => this.#version(tag, now)))
  }

  /** The envelope field recording tags and versions: `,tag=version,tag=version,`. */
  field(tags: readonly string[], versions: readonly string[]): string {
    let field = ','
    for (let i = 0; i < tags.length; i++) field += `${tags[i]}=${versions[i]},`
    return field
  }

  /**
   * Whether an entry's recorded versions are all current. Synchronous when every version is known
   * in process (the common case), else one round trip.
   */
  matches(field: string): boolean | Promise<boolean> {
    const now = Date.now()
    // Entries built under the same versions of the same tags share one field: a field found current a
    // moment ago is current until the first of its versions needs checking again, or an invalidation.
    if (field === this.#lastMatched && now < this.#lastMatchedUntil) return true
    const until = this.#matched.get(field)
    if (until !== undefined && now < until) {
      this.#lastMatched = field
      this.#lastMatchedUntil = until
      return true
    }
    let missing: string[] | undefined
    let trustedUntil = Number.POSITIVE_INFINITY
    let start = 1
    while (start < field.length) {
      const end = field.indexOf(',', start)
      const eq = field.lastIndexOf('=', end)
      if (end < 0 || eq < start) return false
      const tag = field.slice(start, eq)
      const local = this.#local.get(tag)
      if (local && now - local.at < this.#settings.trustMs) {
        if (local.version.length !== end - eq - 1 || !field.startsWith(local.version, eq + 1)) return false
        trustedUntil = Math.min(trustedUntil, local.at + this.#settings.trustMs)
      } else {
        missing ??= []
        missing.push(tag)
      }
      start = end + 1
    }
    if (!missing) {
      if (this.#matched.size >= MATCHED_MAX) this.#matched.clear()
      this.#matched.set(field, trustedUntil)
      this.#lastMatched = field
      this.#lastMatchedUntil = trustedUntil
      return true
    }
    return Promise.all(missing.map((tag) => this.#version(tag, now))).then((versions) =>
      versions.every((version, i) => field.includes(`,${missing![i]}=${version},`)),
    )
  }

  /** Records an entry in the index set of each tag version (for reclamation). */
  index(
    tags: readonly string[],
    versions: readonly string[],
    entryKey: string,
    ttlMs: number,
  ): Promise<unknown> {
    if (!this.#settings.reclaim || tags.length === 0) return Promise.resolve()
    const indexTtl = ttlMs === 0 ? 0 : ttlMs + INDEX_MARGIN_MS
    return Promise.all(
      tags.map((tag, i) =>
        this.#context.store.runScript(
          tagIndexAddScript.name,
          [this.#layout.indexKey(tag, versions[i]!)],
          [entryKey, indexTtl],
        ),
      ),
    )
  }

  /**
   * Invalidates tags: one script per tag (pipelined), applied in this process at once and published to
   * the others. Entries carrying the tags become misses; their memory is reclaimed in the background.
   * Published on `redkit:cache:invalidate`.
   */
  invalidate(rawTags: readonly string[]): Promise<void> {
    if (cacheInvalidateChannel.hasSubscribers) {
      const context = { prefix: this.#context.keys.prefix, kind: 'tags' as const, tags: rawTags }
      return cacheInvalidateChannel.tracePromise(() => this.#invalidate(rawTags), context)
    }
    return this.#invalidate(rawTags)
  }

  async #invalidate(rawTags: readonly string[]): Promise<void> {
    const tags = this.encode(rawTags)
    if (tags.length === 0) return
    this.#forget(tags)
    const { store, bus } = this.#context
    // On Redis the script publishes the bus message itself: deletion and announcement in one round trip.
    const announce = store.mode === 'memory' ? [] : [bus.channelName(BUS_CHANNEL)]
    const old = await Promise.all(
      tags.map((tag) =>
        store.runScript(
          tagInvalidateScript.name,
          [this.#layout.versionKey(tag), this.#layout.pendingKey(tag)],
          announce.length === 0
            ? [PENDING_TTL_MS]
            : [PENDING_TTL_MS, announce[0]!, bus.encode({ tags: [tag] })],
        ),
      ),
    )
    // Versions fetched while the scripts ran may predate them.
    this.#forget(tags)
    if (announce.length === 0) await bus.publish(BUS_CHANNEL, { tags })
    if (this.sweeper) {
      tags.forEach((tag, i) => {
        const version = old[i]
        if (typeof version === 'string') this.sweeper!.enqueue(tag, version)
      })
    }
  }

  #forget(tags: readonly string[]): void {
    this.#generation++
    this.#forgetMatches()
    for (const tag of tags) this.#local.delete(tag)
  }

  #forgetMatches(): void {
    this.#matched.clear()
    this.#lastMatchedUntil = 0
  }

  #version(tag: string, now: number): Promise<string> {
    const local = this.#local.get(tag)
    if (local && now - local.at < this.#settings.trustMs) return Promise.resolve(local.version)
    const running = this.#fetching.get(tag)
    if (running) return running
    const generation = this.#generation
    const fetch = this.#context.store
      .runScript(
        tagVersionScript.name,
        [this.#layout.versionKey(tag)],
        [newVersion(), this.#settings.versionTtlMs],
      )
      .then((version) => {
        if (generation === this.#generation)
          this.#local.set(tag, { version: String(version), at: Date.now() })
        return String(version)
      })
      .finally(() => this.#fetching.delete(tag))
    this.#fetching.set(tag, fetch)
    return fetch
  }
}

/** Where the keys of each tag live under `keys` (also read by the CLI for its dry-run counts). */
export function layout(keys: KeyBuilder): TagKeyLayout {
  const pendingSuffix = '}:pending'
  return {
    keys,
    versionKey: (tag) => keys.tagged(tag, 'v'),
    pendingKey: (tag) => keys.tagged(tag, 'pending'),
    indexKey: (tag, version) => keys.tagged(tag, 'idx', version),
    lockKey: (tag, version) => keys.tagged(tag, 'sweeping', version),
    pendingPattern: () => `${escapeGlob(`${keys.prefix}{`)}*${escapeGlob(pendingSuffix)}`,
    tagOfPendingKey(key) {
      if (!key.startsWith(`${keys.prefix}{`) || !key.endsWith(pendingSuffix)) return undefined
      // Keys encode '%', ':', '{' and '}' as %XX; decoding restores the (URI-encoded) tag.
      return decodeURIComponent(key.slice(keys.prefix.length + 1, key.length - pendingSuffix.length))
    },
  }
}

function newVersion(): string {
  return randomBytes(6).toString('base64url')
}
