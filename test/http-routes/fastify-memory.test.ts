// The health, metrics and tier routes of the redkit/fastify plugin over real HTTP on the embedded store.

import { describeRoutes } from './routes-suite.js'

describeRoutes('fastify', {
  mode: 'memory',
  options: () => ({ url: 'memory', app: 'routes', environment: {} }),
})
