// Feeds the cache operation histogram from redkit's tracing channels: a start time per traced call,
// observed when it settles. Subscribed while registered, so untraced hot paths stay untraced otherwise.

import type { TracingChannel, TracingChannelSubscribers } from 'node:diagnostics_channel'
import type { Histogram } from 'prom-client'
import {
  type CacheInvalidateTraceContext,
  type CacheTraceContext,
  cacheGetChannel,
  cacheGetOrSetChannel,
  cacheInvalidateChannel,
  cacheSetChannel,
} from '../../metrics/tracing-channels.js'

/** The operations the histogram labels, by channel. */
const OPERATIONS = [
  [cacheGetChannel, 'get'],
  [cacheSetChannel, 'set'],
  [cacheGetOrSetChannel, 'getOrSet'],
  [cacheInvalidateChannel, 'delete'],
] as const

type AnyCacheContext = CacheTraceContext | CacheInvalidateTraceContext
type Series = { observe(seconds: number): void }

/** What {@link feedOperationDurations} returns. */
export interface DurationFeed {
  /** Unsubscribes from the channels. */
  stop(): void
  /** Removes the series of the kit with this key prefix (it was unregistered). */
  forget(prefix: string): void
}

/**
 * Observes the duration of every traced cache call of the kits `labelsOf` knows (by key prefix) into
 * `histogram`, labelled with those labels plus `namespace` and `operation`.
 */
export function feedOperationDurations(
  histogram: Histogram<string>,
  labelsOf: (prefix: string) => Record<string, string> | undefined,
): DurationFeed {
  // Keyed by the context object: it is the one thing shared by the start and the end of a call.
  const started = new WeakMap<object, number>()
  // Series looked up once per kit, namespace and operation: observing then hashes no label set.
  const series = new Map<string, Map<string, Series[]>>()
  const labelSets = new Map<string, Record<string, string>[]>()
  const seriesOf = (prefix: string, namespace: string, index: number): Series | undefined => {
    let byNamespace = series.get(prefix)
    let operations = byNamespace?.get(namespace)
    let found = operations?.[index]
    if (found !== undefined) return found
    const own = labelsOf(prefix)
    if (own === undefined) return undefined
    if (!byNamespace) {
      byNamespace = new Map()
      series.set(prefix, byNamespace)
    }
    if (!operations) {
      operations = []
      byNamespace.set(namespace, operations)
    }
    const labels = { ...own, namespace, operation: OPERATIONS[index]![1] }
    found = histogram.labels(labels)
    operations[index] = found
    labelSets.set(prefix, [...(labelSets.get(prefix) ?? []), labels])
    return found
  }
  const subscriptions = OPERATIONS.map(([channel], index) => {
    const subscribers: TracingChannelSubscribers<AnyCacheContext> = {
      start(context) {
        if (context.namespace !== undefined) started.set(context, performance.now())
      },
      end() {},
      asyncStart() {},
      asyncEnd(context) {
        const at = started.get(context)
        if (at === undefined) return
        started.delete(context)
        seriesOf(context.prefix, context.namespace!, index)?.observe((performance.now() - at) / 1000)
      },
      error() {},
    }
    const traced = channel as unknown as TracingChannel<AnyCacheContext, AnyCacheContext>
    traced.subscribe(subscribers)
    return () => traced.unsubscribe(subscribers)
  })
  return {
    stop() {
      for (const unsubscribe of subscriptions) unsubscribe()
    },
    forget(prefix) {
      for (const labels of labelSets.get(prefix) ?? []) histogram.remove(labels)
      labelSets.delete(prefix)
      series.delete(prefix)
    },
  }
}
