// Picks loopback ports for test servers that are free now and not handed out twice by this process.
// Random picks keep parallel vitest workers apart; a start that still collides is retried by the caller.

import { randomInt } from 'node:crypto'
import { createServer } from 'node:net'
import { perProcess } from './process-registry.js'

// Servers get 16000-25999 and cluster buses (port + 10000) 26000-35999, so a plain server never
// takes the bus port of a cluster node started by another worker.
const RANGE_START = 16_000
const RANGE_SIZE = 10_000
const CLUSTER_BUS_OFFSET = 10_000
const MAX_PICKS = 200

const reserved = perProcess('reserved-ports', () => new Set<number>())

/** A free loopback port, never returned twice by this process. */
export function freePort(): Promise<number> {
  return pickPort({ clusterBus: false })
}

/** Like `freePort`, and with `clusterBus` the port 10000 above it (the cluster bus) is free as well. */
export async function pickPort(options: { clusterBus: boolean }): Promise<number> {
  for (let pick = 0; pick < MAX_PICKS; pick++) {
    const port = RANGE_START + randomInt(RANGE_SIZE)
    const ports = options.clusterBus ? [port, port + CLUSTER_BUS_OFFSET] : [port]
    if (ports.some((p) => reserved.has(p))) continue
    if (!(await allFree(ports))) continue
    // Re-check after the await: a concurrent pick in this process may have taken it meanwhile.
    if (ports.some((p) => reserved.has(p))) continue
    for (const p of ports) reserved.add(p)
    return port
  }
  throw new Error(`no free loopback port found in ${MAX_PICKS} random picks`)
}

/** Marks a port as taken for this process (a fixed port chosen by the caller). */
export function reservePort(port: number): void {
  reserved.add(port)
}

async function allFree(ports: number[]): Promise<boolean> {
  for (const port of ports) if (!(await isFree(port))) return false
  return true
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}
