// Keeps a Cluster client's slot map current after a node is lost. The client refreshes it only when a
// live node answers MOVED, which a dead master never does: its slots would stay unreachable after failover.

import type { RedisClusterType } from '@redis/client'
import { withTimeout } from './with-timeout.js'

/** How often the slot map is read again while a node is away. */
const REFRESH_INTERVAL_MS = 250

/** A node as the Cluster client reports it in its node events. */
interface NodeAddress {
  host: string
  port: number
}

/** What the watch needs of a Cluster client (node-redis keeps slot discovery on `_slots`). */
interface DiscoveringCluster {
  masters: readonly { host: string; port: number; client?: { isReady?: boolean } }[]
  _slots: { rediscover(startWith: { options: { socket: NodeAddress } }): Promise<void> }
}

/**
 * Watches one Cluster client: when a node drops, reads the slot map again every 250 ms from a node that
 * is still up, until every master of the map is reachable (the dead one failed over to its replica, or
 * came back). Then calls `healed`, so the breaker can probe at once instead of waiting out its cooldown.
 */
export class ClusterTopologyWatch {
  readonly #cluster: DiscoveringCluster
  readonly #timeoutMs: number
  readonly #healed: () => void
  readonly #lost = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #refreshing = false
  #closed = false

  /**
   * @param isHealed whether the client is whole again (every master ready, or its pub/sub node back)
   * @param timeoutMs bound of one slot-map read: a hung node must not stall the watch
   */
  constructor(
    cluster: RedisClusterType,
    readonly isHealed: () => boolean,
    timeoutMs: number,
    healed: () => void,
  ) {
    this.#cluster = cluster as unknown as DiscoveringCluster
    this.#timeoutMs = timeoutMs
    this.#healed = healed
    const emitter = cluster as unknown as {
      on(event: string, listener: (node: NodeAddress) => void): void
    }
    const lost = (node: NodeAddress) => this.nodeLost(node)
    emitter.on('node-disconnect', lost)
    emitter.on('node-reconnecting', lost)
  }

  /** A node dropped: start refreshing the slot map until the client is whole. */
  nodeLost(node: NodeAddress): void {
    if (this.#closed) return
    this.#lost.add(`${node.host}:${node.port}`)
    if (this.#timer) return
    this.#timer = setInterval(() => this.#refresh(), REFRESH_INTERVAL_MS)
    this.#timer.unref()
  }

  async #refresh(): Promise<void> {
    if (this.#refreshing || this.#closed) return
    if (this.isHealed()) {
      this.#stop()
      this.#healed()
      return
    }
    const start = this.#cluster.masters.find((node) => !this.#lost.has(`${node.host}:${node.port}`))
    if (start === undefined) return
    this.#refreshing = true
    try {
      await withTimeout(
        this.#cluster._slots.rediscover({ options: { socket: { host: start.host, port: start.port } } }),
        this.#timeoutMs,
        () => new Error('slot map refresh timed out'),
      )
    } catch {
      // The next tick tries again; the client's own commands fail fast meanwhile.
    } finally {
      this.#refreshing = false
    }
  }

  #stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#lost.clear()
  }

  /** Stops watching (the connection is closing). */
  close(): void {
    this.#closed = true
    this.#stop()
  }
}
