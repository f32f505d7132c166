// Keeps the L1 copies of one cache coherent between instances: every write, delete or flush is announced
// on the bus, other instances drop their copies, and copies that may have missed a message are not trusted.

import { errorMessage } from '../errors.js'
import type { FeatureContext } from '../feature-context.js'
import type { L1Cache } from './l1-cache.js'

const BUS_CHANNEL = 'cache'

interface L1Message {
  /** The cache namespace. */
  n?: string
  /** Keys relative to the cache. */
  k?: readonly string[]
  /** Set: drop every copy of the namespace. */
  a?: 1
}

/** The bus side of one cache's L1 tier. */
export class L1Sync {
  readonly #context: FeatureContext
  readonly #namespace: string

  constructor(context: FeatureContext, namespace: string) {
    this.#context = context
    this.#namespace = namespace
  }

  /** Drops copies that other instances' messages name, and distrusts copies when messages may be lost. */
  listen(l1: L1Cache): void {
    const context = this.#context
    const namespace = this.#namespace
    // Other instances' writes drop our copies; our own messages are skipped by the bus.
    void context.bus
      .subscribe<L1Message>(BUS_CHANNEL, (message) => {
        if (message?.n !== namespace) return
        if (message.a === 1) l1.clear()
        else if (Array.isArray(message.k)) for (const key of message.k) l1.delete(key)
      })
      .catch((error: unknown) => {
        context.logger.warn(
          { cache: namespace, error: errorMessage(error) },
          'redkit: cache bus subscription failed; L1 copies expire by their ttl only',
        )
      })
    // Messages may have been missed: nothing in L1 can be trusted as a hit any more.
    context.bus.onReconnect(() => l1.clear())
    context.onAvailability((available) => (available ? l1.clear() : l1.suspectAll()))
  }

  /** Tells other instances to drop their copies of `relativeKeys` (every copy when undefined). */
  announce(relativeKeys: readonly string[] | undefined): void {
    const message: L1Message =
      relativeKeys === undefined ? { n: this.#namespace, a: 1 } : { n: this.#namespace, k: relativeKeys }
    this.#context.bus.publish(BUS_CHANNEL, message).catch((error: unknown) => {
      this.#context.logger.debug(
        { cache: this.#namespace, error: errorMessage(error) },
        'redkit: cache bus message not sent; other instances flush L1 when Redis is back',
      )
    })
  }
}
