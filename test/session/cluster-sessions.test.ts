// The session suite on a 6-node Redis Cluster: sessions and indexes spread over every slot range,
// and all()/length()/clear() must walk every master (10,000 sessions).

import { createRedkit } from '../../src/index.js'
import { startCluster } from '../harness/index.js'
import { sessionSuite } from './session-suite.js'

sessionSuite('a 6-node Redis Cluster', async () => {
  const cluster = await startCluster()
  return {
    kit: (logger) =>
      createRedkit({
        cluster: { nodes: cluster.nodes },
        app: 'sessions',
        environment: {},
        ...(logger ? { logger } : {}),
      }),
    teardown: () => cluster.stop(),
  }
})
