// Tag invalidation on the embedded store.

import { createRedkit } from '../../src/index.js'
import { tagSuite } from './tags-suite.js'

tagSuite('MemoryStore', async () => ({
  kit: (options) => createRedkit({ url: 'memory', app: 'tagtest', tags: { trust: options?.trust } }),
  shared: false,
  teardown: async () => {},
}))
