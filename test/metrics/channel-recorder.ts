// Test helper: subscribes to one of redkit's tracing channels and keeps a copy of the context at every
// event, so a test can assert what each subscriber saw and in which order.

import { type TracingChannelSubscribers, tracingChannel } from 'node:diagnostics_channel'
import { inspect } from 'node:util'

export type TraceEventName = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error'

/** One event as a subscriber saw it: a shallow copy of the context at that moment. */
export interface TraceEvent {
  event: TraceEventName
  context: Record<string, unknown>
}

export interface ChannelRecorder {
  readonly events: TraceEvent[]
  /** The contexts as they were at `asyncEnd` (the final state of each traced call). */
  finished(): Record<string, unknown>[]
  /** Every event rendered at full depth, for secret scans. */
  renderings(): string[]
  stop(): void
}

/** Records the tracing channel `name` until `stop()`. */
export function recordChannel(name: string): ChannelRecorder {
  const events: TraceEvent[] = []
  const keep = (event: TraceEventName) => (context: object) => {
    events.push({ event, context: { ...(context as Record<string, unknown>) } })
  }
  const subscribers: TracingChannelSubscribers<object> = {
    start: keep('start'),
    end: keep('end'),
    asyncStart: keep('asyncStart'),
    asyncEnd: keep('asyncEnd'),
    error: keep('error'),
  }
  const channel = tracingChannel(name)
  channel.subscribe(subscribers)
  return {
    events,
    finished: () => events.filter((e) => e.event === 'asyncEnd').map((e) => e.context),
    renderings: () =>
      events.map(
        (e) => `${inspect(e.context, { depth: Number.POSITIVE_INFINITY })} ${JSON.stringify(e.context)}`,
      ),
    stop: () => channel.unsubscribe(subscribers),
  }
}
