// The store contract on the embedded MemoryStore: the reference the Redis runs are compared with.

import { MemoryStore } from '../../src/store/memory/memory-store.js'
import { storeContract } from './store-contract.js'

storeContract('MemoryStore', async () => {
  const store = new MemoryStore()
  return { store, prefix: 'contract:', teardown: () => store.close() }
})
