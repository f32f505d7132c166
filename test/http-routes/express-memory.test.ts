// The health, metrics and tier routes of redkit/express over real HTTP on the embedded store.

import { describeRoutes } from './routes-suite.js'

describeRoutes('express', {
  mode: 'memory',
  options: () => ({ url: 'memory', app: 'routes', environment: {} }),
})
