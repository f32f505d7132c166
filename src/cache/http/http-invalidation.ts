// The framework-neutral core of invalidateOn: after a mutation answered with 2xx, invalidate the tags
// computed from the request, off the request's path; failures are logged and counted, never thrown.

import { checkOptionKeys, describeValue } from '../../config/validate.js'
import { errorMessage, InvalidOptionsError } from '../../errors.js'
import type { Logger } from '../../logger.js'
import type { Redkit } from '../../redkit.js'

/** Options of the `invalidateOn` middleware of every integration. */
export interface InvalidateOnOptions {
  /**
   * The request methods whose 2xx responses invalidate.
   * @default ['POST', 'PUT', 'PATCH', 'DELETE']
   * @example methods: ['POST']
   */
  methods?: readonly string[]
}

/** The tags a mutation invalidates; none (an empty list or undefined) skips the invalidation. */
export type InvalidationTags = readonly string[] | undefined

/** What `kit.metrics().http.invalidateOn` holds: the counters of every invalidateOn of the kit. */
export interface InvalidateOnMetrics {
  /** Invalidations done (one per mutation answered with 2xx that had tags). */
  invalidations: number
  /** Tags invalidated by them. */
  tags: number
  /** Invalidations that failed (Redis unreachable, a tags function that threw); each is logged. */
  errors: number
}

/** Per kit: the counters, the logger and the invalidations still running (awaited by `kit.close()`). */
interface KitState {
  metrics: InvalidateOnMetrics
  logger: Logger
  running: Set<Promise<void>>
}

const states = new WeakMap<Redkit, KitState>()
const KNOWN = new Set(['methods'])
const DEFAULT_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE']
const WHERE = 'invalidateOn'

function stateOf(kit: Redkit): KitState {
  let state = states.get(kit)
  if (state === undefined) {
    const context = kit.context
    const created: KitState = {
      metrics: { invalidations: 0, tags: 0, errors: 0 },
      logger: context.logger,
      running: new Set(),
    }
    context.registerMetrics('http', 'invalidateOn', () => ({ ...created.metrics }))
    context.onClose(async () => {
      await Promise.allSettled([...created.running])
    })
    states.set(kit, created)
    state = created
  }
  return state
}

/**
 * Invalidates tags after mutations for one `invalidateOn` middleware. `Args` are what its tags function
 * receives (the framework's request, and its response or reply).
 * @throws InvalidOptionsError
 */
export class HttpInvalidation<Args extends unknown[]> {
  readonly #kit: Redkit
  readonly #tagsOf: (...args: Args) => InvalidationTags | Promise<InvalidationTags>
  readonly #methods: ReadonlySet<string>
  readonly #state: KitState

  constructor(
    kit: Redkit,
    tagsOf: (...args: Args) => InvalidationTags | Promise<InvalidationTags>,
    options: InvalidateOnOptions = {},
  ) {
    if (!kit || typeof (kit as Partial<Redkit>).invalidateTags !== 'function') {
      throw new InvalidOptionsError(
        "invalidateOn needs the redkit instance first: invalidateOn(kit, (req) => ['vendor:' + req.params.vendorId]).",
      )
    }
    if (typeof tagsOf !== 'function') {
      throw new InvalidOptionsError(
        `${WHERE}: the second argument must be a function returning the tags to invalidate, got ${describeValue(tagsOf)}.`,
      )
    }
    checkOptionKeys(options, KNOWN, WHERE)
    const methods = options.methods ?? DEFAULT_METHODS
    if (
      !Array.isArray(methods) ||
      methods.length === 0 ||
      !methods.every((m) => typeof m === 'string' && m !== '')
    ) {
      throw new InvalidOptionsError(
        `${WHERE}: methods must be a non-empty array of method names such as ['POST', 'PUT'], got ${describeValue(methods)}.`,
      )
    }
    this.#kit = kit
    this.#tagsOf = tagsOf
    this.#methods = new Set(methods.map((method) => method.toUpperCase()))
    this.#state = stateOf(kit)
  }

  /** Whether requests of this method are watched. */
  applies(method: string): boolean {
    return this.#methods.has(method)
  }

  /** After the response to a watched request: invalidates when its status is 2xx. Never throws. */
  after(status: number, ...args: Args): void {
    if (status < 200 || status >= 300) return
    const state = this.#state
    const run = this.#invalidate(args).then(
      (count) => {
        if (count === 0) return
        state.metrics.invalidations++
        state.metrics.tags += count
      },
      (error: unknown) => {
        state.metrics.errors++
        state.logger.warn(
          { error: errorMessage(error) },
          'redkit: invalidateOn could not invalidate tags after a mutation; entries carrying them stay until they expire',
        )
      },
    )
    state.running.add(run)
    run.finally(() => state.running.delete(run))
  }

  async #invalidate(args: Args): Promise<number> {
    const tags = await this.#tagsOf(...args)
    if (tags === undefined || tags.length === 0) return 0
    if (!Array.isArray(tags)) {
      throw new InvalidOptionsError(
        `${WHERE}: the tags function must return an array of strings, got ${describeValue(tags)}.`,
      )
    }
    await this.#kit.invalidateTags(tags)
    return tags.length
  }
}
