// cacheResponse and invalidateOn on a real redis-server, over real Express 5 and Fastify 5 servers, with
// a second redkit instance on the same Redis for what must hold across instances.

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll } from 'vitest'
import { createRedkit } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers } from '../harness/index.js'
import { httpCacheSuite } from './http-cache-suite.js'
import { expressFramework, fastifyFramework } from './test-apps.js'

let started: Promise<RedisServer>
beforeAll(() => {
  started = startRedis()
})
afterAll(() => stopAllServers())

for (const framework of [expressFramework, fastifyFramework]) {
  httpCacheSuite(
    `${framework().name} on redis-server`,
    framework,
    async () => {
      const { url } = await started
      const app = `http${randomUUID().slice(0, 6)}`
      const kit = createRedkit({ url, app, environment: {} })
      const peer = createRedkit({ url, app, environment: {} })
      return {
        kit,
        peer,
        teardown: async () => {
          await kit.close()
          await peer.close()
        },
      }
    },
    { peers: true },
  )
}
