// cacheResponse and invalidateOn on the embedded memory store, over real Express 5 and Fastify 5 servers.

import { createRedkit } from '../../src/index.js'
import { httpCacheSuite } from './http-cache-suite.js'
import { expressFramework, fastifyFramework } from './test-apps.js'

for (const framework of [expressFramework, fastifyFramework]) {
  httpCacheSuite(
    `${framework().name} on memory`,
    framework,
    async () => {
      const kit = createRedkit({ url: 'memory', app: 'http-cache', environment: {} })
      return { kit, teardown: () => kit.close() }
    },
    { peers: false },
  )
}
