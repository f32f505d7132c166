import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'integrations/express/index': 'src/integrations/express/index.ts',
    'integrations/fastify/index': 'src/integrations/fastify/index.ts',
    'integrations/express-rate-limit/index': 'src/integrations/express-rate-limit/index.ts',
    'integrations/prometheus/index': 'src/integrations/prometheus/index.ts',
    'decorators/index': 'src/decorators/index.ts',
    'testing/index': 'src/testing/index.ts',
    'cli/index': 'src/cli/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  // import.meta.url in the CommonJS build (queue-connection.ts loads optional peers with createRequire).
  shims: true,
  treeshake: true,
  loader: { '.lua': 'text' },
  external: [
    '@redis/client',
    'ioredis',
    'express',
    'fastify',
    'fastify-plugin',
    'bullmq',
    'express-session',
    'express-rate-limit',
    'prom-client',
  ],
})
