import { readFileSync } from 'node:fs'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [
    {
      // Lua scripts live in .lua files; the build inlines them as text, and so does the test run.
      name: 'lua-as-text',
      transform(_code, id) {
        if (!id.endsWith('.lua')) return null
        return { code: `export default ${JSON.stringify(readFileSync(id, 'utf8'))}`, map: null }
      },
    },
  ],
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'] },
  },
})
