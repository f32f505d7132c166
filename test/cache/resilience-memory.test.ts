// The two-tier and resilience suite on the embedded store.

import { createRedkit } from '../../src/index.js'
import { resilienceSuite } from './resilience-suite.js'

resilienceSuite('MemoryStore', async () => {
  const kit = createRedkit({ url: 'memory', app: 'resilience' })
  return { kit, teardown: () => kit.close() }
})
