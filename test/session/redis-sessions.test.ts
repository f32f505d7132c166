// The session suite on a single real redis-server.

import { createRedkit } from '../../src/index.js'
import { startRedis } from '../harness/index.js'
import { sessionSuite } from './session-suite.js'

sessionSuite('a single redis-server', async () => {
  const server = await startRedis()
  return {
    kit: (logger) =>
      createRedkit({ url: server.url, app: 'sessions', environment: {}, ...(logger ? { logger } : {}) }),
    teardown: () => server.stop(),
  }
})
