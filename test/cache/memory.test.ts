// The cache suite on the embedded store.

import { createRedkit } from '../../src/index.js'
import { cacheSuite } from './cache-suite.js'

cacheSuite('MemoryStore', async () => {
  const kit = createRedkit({ url: 'memory', app: 'cachetest' })
  return { kit, teardown: () => kit.close() }
})
