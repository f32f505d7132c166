// `redkit invalidate`: counts what a tag invalidation or a pattern delete would touch, asks, then does it
// through the library itself (kit.invalidateTags, the cache's deletePattern) with a progress bar.

import { Cache } from '../cache/cache.js'
import { layout as tagKeyLayout } from '../cache/tags/tag-versions.js'
import { InvalidOptionsError, RedkitError } from '../errors.js'
import { escapeGlob } from '../keys/key-builder.js'
import type { Redkit } from '../redkit.js'
import type { Store } from '../store/store.js'
import type { Output } from './output.js'

/** What to invalidate: tags (across every cache), or a glob within one cache namespace. */
export type InvalidateRequest = { tags: readonly string[] } | { namespace: string; pattern: string }

/** The dry-run count. */
export interface InvalidatePlan {
  /** Live entries that would become misses (tags) or be deleted (pattern). */
  matches: number
  /** Per tag, when invalidating tags. */
  tags?: { tag: string; entries: number; indexed: boolean }[]
  namespace?: string
  pattern?: string
}

/** What was done. */
export interface InvalidateResult extends InvalidatePlan {
  dryRun: boolean
  /** Entries deleted: by the pattern delete, or by the tag sweep that reclaims invalidated entries. */
  deleted: number
}

/** Thrown when nobody confirmed a destructive run. */
export class NotConfirmedError extends RedkitError {
  constructor(message: string) {
    super(message, 'REDKIT_CLI_NOT_CONFIRMED')
  }
}

const BATCH = 500
const POLL_MS = 100

/** Counts the entries a request would touch, without changing anything. */
export async function planInvalidation(kit: Redkit, request: InvalidateRequest): Promise<InvalidatePlan> {
  if ('tags' in request) {
    if (request.tags.length === 0) throw new InvalidOptionsError('invalidate: give at least one --tag.')
    const encoded = kit.context.tags().encode(request.tags)
    const keys = tagKeyLayout(kit.keys.scope('tag'))
    const tags: NonNullable<InvalidatePlan['tags']> = []
    for (const [i, tag] of encoded.entries()) {
      const version = await kit.store.get(keys.versionKey(tag))
      if (version === null) {
        tags.push({ tag: request.tags[i]!, entries: 0, indexed: true })
        continue
      }
      const index = keys.indexKey(tag, version)
      const indexed = (await kit.store.exists([index])) > 0
      // The index lists every entry written under this version; some may have expired since.
      let entries = 0
      for await (const members of kit.store.sscan(index, { count: BATCH })) {
        entries += await kit.store.exists(members)
      }
      tags.push({ tag: request.tags[i]!, entries, indexed })
    }
    return { matches: tags.reduce((total, tag) => total + tag.entries, 0), tags }
  }
  const cache = kit.cache(request.namespace)
  checkGlob(request.pattern)
  let matches = 0
  const match = escapeGlob(cache.keyPrefix) + request.pattern
  for await (const keys of kit.store.scan({ match, count: 1000 })) matches += keys.length
  return { matches, namespace: request.namespace, pattern: request.pattern }
}

/** Options of {@link runInvalidation}. */
export interface InvalidateOptions {
  /** Count only. @default false */
  dryRun?: boolean
  /** Do not ask for confirmation. @default false */
  yes?: boolean
}

/**
 * Counts, asks (unless `yes`), then invalidates. Without a terminal to ask and without `yes`, refuses.
 * @throws NotConfirmedError when the run was not confirmed
 */
export async function runInvalidation(
  kit: Redkit,
  request: InvalidateRequest,
  output: Output,
  options: InvalidateOptions = {},
): Promise<InvalidateResult> {
  const plan = await planInvalidation(kit, request)
  output.note(describePlan(plan))
  if (options.dryRun) return { ...plan, dryRun: true, deleted: 0 }
  if (!('tags' in request) && plan.matches === 0) return { ...plan, dryRun: false, deleted: 0 }
  if (!options.yes) {
    const answer = await output.confirm('Go ahead?')
    if (answer === undefined) {
      throw new NotConfirmedError(
        'Refusing to invalidate without confirmation: there is no terminal to ask. Pass --yes to go ahead (or --dry-run to count only).',
      )
    }
    if (!answer) throw new NotConfirmedError('Cancelled; nothing was invalidated.')
  }
  if ('tags' in request)
    return { ...plan, dryRun: false, deleted: await invalidateTags(kit, request.tags, plan, output) }
  return { ...plan, dryRun: false, deleted: await deleteMatching(kit, request, plan, output) }
}

/** Writes the result as a line or as JSON. */
export function printInvalidation(result: InvalidateResult, output: Output, json: boolean): void {
  if (json) {
    output.json(result)
    return
  }
  if (result.dryRun) output.line(`dry run: ${result.matches} entries would be affected`)
  else if (result.tags) {
    output.line(
      `invalidated ${result.tags.map((t) => `'${t.tag}'`).join(', ')}: ${result.matches} entries are misses now, ${result.deleted} deleted by the sweep`,
    )
  } else output.line(`deleted ${result.deleted} entries of cache '${result.namespace}'`)
}

function describePlan(plan: InvalidatePlan): string {
  if (plan.tags) {
    const parts = plan.tags.map(
      (tag) => `'${tag.tag}': ${tag.entries} entries${tag.indexed ? '' : ' (no tag index: count unknown)'}`,
    )
    return `tags ${parts.join(', ')} (entries of every cache carrying them)`
  }
  return `cache '${plan.namespace}', pattern '${plan.pattern}': ${plan.matches} entries`
}

async function invalidateTags(
  kit: Redkit,
  tags: readonly string[],
  plan: InvalidatePlan,
  output: Output,
): Promise<number> {
  const versions = kit.context.tags()
  const sweeper = versions.sweeper
  const before = sweeper?.metrics.deleted ?? 0
  await kit.invalidateTags(tags)
  if (!sweeper) return 0
  // The entries are misses already; the sweep reclaims their memory, shown as progress.
  const progress = output.progress('sweeping', plan.matches)
  const timer = setInterval(() => progress.update(sweeper.metrics.deleted - before), POLL_MS)
  try {
    await sweeper.idle()
  } finally {
    clearInterval(timer)
    progress.update(sweeper.metrics.deleted - before)
    progress.stop()
  }
  return sweeper.metrics.deleted - before
}

async function deleteMatching(
  kit: Redkit,
  request: { namespace: string; pattern: string },
  plan: InvalidatePlan,
  output: Output,
): Promise<number> {
  const progress = output.progress('deleting', plan.matches)
  let deleted = 0
  // The cache's own deletePattern does the work; a store that reports each UNLINK batch feeds the bar.
  const store = reportingDeletes(kit.store, (count) => {
    deleted += count
    progress.update(deleted, Math.max(plan.matches, deleted))
  })
  const cache = new Cache({ ...kit.context, store }, request.namespace)
  try {
    return await cache.deletePattern(request.pattern)
  } finally {
    progress.stop()
  }
}

function reportingDeletes(store: Store, onDeleted: (count: number) => void): Store {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'del') {
        return async (keys: readonly string[]) => {
          const count = await target.del(keys)
          onDeleted(count)
          return count
        }
      }
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

function checkGlob(pattern: string): void {
  if (pattern === '') throw new InvalidOptionsError('invalidate: --pattern must not be empty.')
}
