// The decorator suite on the embedded store.

import { createRedkit } from '../../src/index.js'
import { decoratorSuite } from './decorator-suite.js'

decoratorSuite('MemoryStore', async () => {
  const kit = createRedkit({ url: 'memory', app: 'decorators' })
  return { kit, teardown: () => kit.close() }
})
