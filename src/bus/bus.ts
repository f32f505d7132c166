// Cluster-wide pub/sub between redkit instances (cache invalidation, revocations...), over the store's
// subscriber connection. Listener errors are isolated and logged; a reconnect is announced to listeners.

import { randomUUID } from 'node:crypto'
import { errorMessage } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Store } from '../store/store.js'
import { decodeMessage, encodeMessage } from './message-codec.js'

/** What a bus listener receives beside the payload. */
export interface BusMessageMeta {
  /** Id of the publishing instance. */
  source: string
  /** The channel name as given to `subscribe` (without prefix). */
  channel: string
  /** True when this instance published the message. */
  fromSelf: boolean
}

/** A bus listener. It may be async; a rejection is logged like a throw. */
export type BusListener<T = unknown> = (payload: T, meta: BusMessageMeta) => unknown

/** Options of {@link Bus.subscribe}. */
export interface BusSubscribeOptions {
  /**
   * Also deliver messages this instance published.
   * @default false
   */
  includeSelf?: boolean
}

/**
 * Publish/subscribe between every instance of the app (every process using the same Redis and prefix).
 * In memory mode the bus works within the process.
 *
 * @example
 * const off = await kit.bus.subscribe<{ userId: string }>('user-changed', ({ userId }) => drop(userId))
 * await kit.bus.publish('user-changed', { userId: '42' })
 */
export class Bus {
  /** This instance's id, sent with every message. */
  readonly id: string
  readonly #store: Store
  readonly #prefix: string
  readonly #logger: Logger
  readonly #reconnectListeners = new Set<() => void>()

  constructor(store: Store, prefix: string, logger: Logger, id: string = randomUUID()) {
    this.#store = store
    this.#prefix = `${prefix}bus:`
    this.#logger = logger
    this.id = id
    store.onSubscriberReconnect(() => {
      for (const listener of this.#reconnectListeners) {
        try {
          listener()
        } catch (error) {
          this.#logger.error({ error: errorMessage(error) }, 'redkit: bus reconnect listener failed')
        }
      }
    })
  }

  /** Publishes a JSON-serialisable payload to every instance's subscribers of `channel`. */
  publish(channel: string, payload: unknown): Promise<void> {
    return this.#store.publish(this.channelName(channel), this.encode(payload))
  }

  /** The store-level channel name of a bus channel (for scripts that publish themselves). */
  channelName(channel: string): string {
    return this.#prefix + channel
  }

  /** A payload encoded as this instance's message (for scripts that publish themselves). */
  encode(payload: unknown): string {
    return encodeMessage(this.id, payload)
  }

  /**
   * Subscribes to a channel. Resolves once the subscription is active, with a function that ends it.
   * A listener that throws (or rejects) is logged and does not stop the other listeners.
   */
  subscribe<T = unknown>(
    channel: string,
    listener: BusListener<T>,
    options: BusSubscribeOptions = {},
  ): Promise<() => Promise<void>> {
    const includeSelf = options.includeSelf ?? false
    return this.#store.subscribe(this.#prefix + channel, (raw) => {
      const message = decodeMessage(raw)
      if (!message) {
        this.#logger.warn({ channel }, 'redkit: ignored a malformed bus message')
        return
      }
      const fromSelf = message.source === this.id
      if (fromSelf && !includeSelf) return
      try {
        const result = listener(message.payload as T, { source: message.source, channel, fromSelf })
        if (result instanceof Promise) {
          result.then(undefined, (error: unknown) => this.#listenerFailed(channel, error))
        }
      } catch (error) {
        this.#listenerFailed(channel, error)
      }
    })
  }

  /**
   * Calls `listener` when the subscriber connection came back after a disconnect: messages sent
   * meanwhile were missed, so in-process copies fed by the bus must be dropped. Returns a remover.
   */
  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener)
    return () => this.#reconnectListeners.delete(listener)
  }

  #listenerFailed(channel: string, error: unknown): void {
    this.#logger.error({ channel, error: errorMessage(error) }, 'redkit: bus listener failed')
  }
}
