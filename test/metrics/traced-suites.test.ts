// The cache, tag, limiter and session suites run again with a subscriber on every tracing channel, on
// the embedded store and a real redis-server: traced calls must behave exactly like untraced ones.

import { tracingChannel } from 'node:diagnostics_channel'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, tracingChannels } from '../../src/index.js'
import { cacheSuite } from '../cache/cache-suite.js'
import { tagSuite } from '../cache/tags-suite.js'
import { type RedisServer, startRedis, stopAllServers } from '../harness/index.js'
import { limiterSuite } from '../ratelimit/limiter-suite.js'
import { memorySessionSetup, sessionSuite } from '../session/session-suite.js'

const traced = Object.entries(tracingChannels).filter(([name]) => name !== 'breaker')
/** Per channel: calls started, calls settled (asyncEnd), calls that threw before returning a promise. */
const seen = new Map(traced.map(([name]) => [name, { started: 0, settled: 0, thrownSync: 0 }]))
const unsubscribers: (() => void)[] = []
let server: RedisServer

beforeAll(async () => {
  for (const [name, channelName] of traced) {
    const counts = seen.get(name)!
    const asyncEnded = new WeakSet<object>()
    const subscribers = {
      start: () => {
        counts.started++
      },
      end: (context: { error?: unknown }) => {
        if (context.error !== undefined && !asyncEnded.has(context)) counts.thrownSync++
      },
      asyncStart: (context: object) => {
        asyncEnded.add(context)
      },
      asyncEnd: () => {
        counts.settled++
      },
      error: () => {},
    }
    const channel = tracingChannel(channelName)
    channel.subscribe(subscribers)
    unsubscribers.push(() => channel.unsubscribe(subscribers))
  }
  server = await startRedis()
})
afterAll(async () => {
  for (const unsubscribe of unsubscribers) unsubscribe()
  await stopAllServers()
})

cacheSuite('MemoryStore, traced', async () => {
  const kit = createRedkit({ url: 'memory', app: 'tracedcache' })
  return { kit, teardown: () => kit.close() }
})
cacheSuite('RedisStore, traced', async () => {
  const kit = createRedkit({ url: server.url, app: 'tracedcache' })
  return { kit, teardown: () => kit.close() }
})
tagSuite('MemoryStore, traced', async () => ({
  kit: (options) => createRedkit({ url: 'memory', app: 'tracedtags', tags: { trust: options?.trust } }),
  shared: false,
  teardown: async () => {},
}))
tagSuite('RedisStore, traced', async () => ({
  kit: (options) => createRedkit({ url: server.url, app: 'tracedtags', tags: { trust: options?.trust } }),
  shared: true,
  teardown: async () => {},
}))
limiterSuite('the embedded store, traced', async () => {
  const kit = createRedkit({ url: 'memory', app: 'tracedrl', environment: {} })
  return { kit, teardown: () => kit.close() }
})
limiterSuite('a single redis-server, traced', async () => {
  const kit = createRedkit({ url: server.url, app: 'tracedrl', environment: {} })
  return { kit, teardown: () => kit.close() }
})
sessionSuite('MemoryStore, traced', memorySessionSetup('tracedsessions'))
sessionSuite('a single redis-server, traced', async () => ({
  kit: (logger) =>
    createRedkit({
      url: server.url,
      app: 'tracedsessions',
      environment: {},
      ...(logger ? { logger } : {}),
    }),
  teardown: async () => {},
}))

describe('the subscriber of the traced suites', () => {
  it('saw calls on every channel, and every call it saw started also finished', () => {
    for (const [name, counts] of seen) {
      expect(counts.started, `${name}: no traced call`).toBeGreaterThan(0)
      expect(counts.settled + counts.thrownSync, `${name}: calls left unfinished`).toBe(counts.started)
    }
  })
})
