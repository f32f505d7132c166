// The health, metrics and tier routes of redkit/express over real HTTP on a real redis-server.

import { afterAll, beforeAll } from 'vitest'
import { type RedisServer, startRedis, stopAllServers } from '../harness/index.js'
import { describeRoutes } from './routes-suite.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => stopAllServers())

describeRoutes('express', {
  mode: 'redis',
  options: () => ({ url: server.url, app: 'routes', environment: {}, commandTimeout: 1000 }),
})
