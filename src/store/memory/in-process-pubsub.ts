// Publish/subscribe inside one process for the embedded store, shaped like Redis pub/sub:
// delivery is asynchronous and in publish order, and a failing listener never affects the others.

import type { MessageListener } from '../store.js'

/** Receives the error a listener threw, with the channel of the message. */
export type ListenerErrorHandler = (error: unknown, channel: string) => void

interface Subscription {
  readonly listener: MessageListener
  active: boolean
}

/** Channels and their listeners; messages go out on a later turn of the event loop. */
export class InProcessPubSub {
  private readonly channels = new Map<string, Set<Subscription>>()

  constructor(private readonly onListenerError?: ListenerErrorHandler) {}

  /**
   * Queues the message for every listener subscribed now. Delivery waits for `setImmediate`, as a
   * network round trip would, so a publisher never runs listener code inside its own call stack.
   */
  publish(channel: string, message: string): void {
    const subscriptions = this.channels.get(channel)
    if (subscriptions === undefined) return
    const recipients = [...subscriptions]
    setImmediate(() => this.deliver(recipients, channel, message))
  }

  /** Adds a listener; the returned function removes exactly this subscription (idempotent). */
  subscribe(channel: string, listener: MessageListener): () => void {
    const subscription: Subscription = { listener, active: true }
    let subscriptions = this.channels.get(channel)
    if (subscriptions === undefined) {
      subscriptions = new Set()
      this.channels.set(channel, subscriptions)
    }
    subscriptions.add(subscription)
    return () => {
      if (!subscription.active) return
      subscription.active = false
      const current = this.channels.get(channel)
      if (current === undefined) return
      current.delete(subscription)
      if (current.size === 0) this.channels.delete(channel)
    }
  }

  /** How many listeners are subscribed to a channel. */
  listenerCount(channel: string): number {
    return this.channels.get(channel)?.size ?? 0
  }

  /** Drops every subscription; messages already queued are not delivered. */
  close(): void {
    for (const subscriptions of this.channels.values()) {
      for (const subscription of subscriptions) subscription.active = false
    }
    this.channels.clear()
  }

  private deliver(recipients: readonly Subscription[], channel: string, message: string): void {
    for (const subscription of recipients) {
      // A listener removed after the publish no longer wants the message (its client would drop it).
      if (!subscription.active) continue
      try {
        subscription.listener(message, channel)
      } catch (error) {
        this.report(error, channel)
      }
    }
  }

  private report(error: unknown, channel: string): void {
    if (this.onListenerError === undefined) return
    try {
      this.onListenerError(error, channel)
    } catch {
      // The error handler failing must not break delivery to the remaining listeners either.
    }
  }
}
