// Checks the package as users get it: builds, packs, installs the tarball into a scratch project and
// loads every entry point with real node processes (ESM and CommonJS) and with tsc under NodeNext.

import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SUBPATHS = ['express', 'fastify', 'express-rate-limit', 'prometheus', 'decorators', 'testing'] as const
/** Build, pack and an install from the registry (cache first): minutes on a cold cache, not seconds. */
const SETUP_TIMEOUT_MS = 240_000
const STEP_TIMEOUT_MS = 60_000

interface PackedFile {
  path: string
}

interface PackResult {
  filename: string
  files: PackedFile[]
}

type ExportTarget = string | { [condition: string]: ExportTarget }

let workDir: string
let scratch: string
let packed: PackResult

/** Runs a command and returns its stdout; on failure the error carries stdout and stderr. */
async function sh(command: string, args: string[], cwd: string, timeout = STEP_TIMEOUT_MS): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, timeout, maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}\n${stderr ?? ''}\n${stdout ?? ''}`, {
      cause: error,
    })
  }
}

// Every loader: it imports each subpath, runs a set/get through kit.store in memory mode and
// prints the resolved entry file, so the test sees both the behaviour and which build was loaded.
const ESM_CHECK = `
import { createRedkit } from 'redkit'
import { healthRoutes } from 'redkit/express'
import { redkit } from 'redkit/fastify'
import { RedkitStore } from 'redkit/express-rate-limit'
import { registerMetrics } from 'redkit/prometheus'
import { Cacheable } from 'redkit/decorators'
import 'redkit/testing'
import { createTestRedkit } from 'redkit/testing'
for (const [name, value] of Object.entries({ healthRoutes, redkit, RedkitStore, registerMetrics, Cacheable })) {
  if (typeof value !== 'function') throw new Error(name + ' is not exported')
}

const kit = createRedkit({ url: 'memory' })
// The dashboard serves uPlot from the installed package's own dependencies.
const { default: express } = await import('express')
const { dashboardRoutes } = await import('redkit/express')
const app = express().use('/dashboard', dashboardRoutes(kit))
const server = app.listen(0)
await new Promise((resolve) => server.once('listening', resolve))
const asset = await fetch('http://127.0.0.1:' + server.address().port + '/dashboard/uplot.iife.min.js')
if (asset.status !== 200 || !(await asset.text()).includes('uPlot')) throw new Error('dashboard asset: ' + asset.status)
server.close()
await kit.store.set('pack:key', 'from-esm')
const value = await kit.store.get('pack:key')
await kit.close()
const testKit = createTestRedkit()
await testKit.close()
console.log(JSON.stringify({ value, mode: kit.mode, testMode: testKit.mode, entry: import.meta.resolve('redkit') }))
`

const CJS_CHECK = `
const { createRedkit } = require('redkit')
const { healthRoutes } = require('redkit/express')
const { redkit } = require('redkit/fastify')
const { RedkitStore } = require('redkit/express-rate-limit')
const { registerMetrics } = require('redkit/prometheus')
const { Cacheable } = require('redkit/decorators')
const { createTestRedkit } = require('redkit/testing')
for (const [name, value] of Object.entries({ healthRoutes, redkit, RedkitStore, registerMetrics, Cacheable })) {
  if (typeof value !== 'function') throw new Error(name + ' is not exported')
}

async function main() {
  const kit = createRedkit({ url: 'memory' })
  await kit.store.set('pack:key', 'from-cjs')
  const value = await kit.store.get('pack:key')
  await kit.close()
  const testKit = createTestRedkit()
  await testKit.close()
  console.log(JSON.stringify({ value, mode: kit.mode, testMode: testKit.mode, entry: require.resolve('redkit') }))
}
main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
`

// Type checks: the @ts-expect-error lines fail the compile if the types resolve to \`any\`.
const ESM_TYPES = `
import { createRedkit, type Redkit, type Store } from 'redkit'
import { createTestRedkit } from 'redkit/testing'

const kit: Redkit = createRedkit({ url: 'memory', app: 'scratch' })
const store: Store = kit.store
export const value: Promise<string | null> = store.get('key')
export const testKit: Redkit = createTestRedkit({ app: 'scratch' })
// @ts-expect-error keys are strings
store.get(42)
// @ts-expect-error unknown options are a type error
createRedkit({ nope: true })
`

const CJS_TYPES = `
import redkit = require('redkit')
import testing = require('redkit/testing')

const kit: redkit.Redkit = redkit.createRedkit({ url: 'memory' })
export const value: Promise<string | null> = kit.store.get('key')
export const testKit: redkit.Redkit = testing.createTestRedkit()
// @ts-expect-error keys are strings
kit.store.get(42)
`

const TSCONFIG = {
  compilerOptions: {
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    strict: true,
    noEmit: true,
    // The shipped .d.ts/.d.cts files are checked too, not only resolved.
    skipLibCheck: false,
    types: ['node'],
  },
  files: ['check-types.ts', 'check-types.cts'],
}

describe('packed package', () => {
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'redkit-pack-'))
    scratch = join(workDir, 'scratch')
    await sh('npm', ['run', 'build'], ROOT, SETUP_TIMEOUT_MS)
    // The build just ran; --ignore-scripts keeps prepack from building a second time.
    const packOutput = await sh(
      'npm',
      ['pack', '--json', '--ignore-scripts', '--pack-destination', workDir],
      ROOT,
    )
    const results = JSON.parse(packOutput) as PackResult[]
    expect(results).toHaveLength(1)
    packed = results[0]!

    await mkdir(scratch)
    await writeFile(
      join(scratch, 'package.json'),
      JSON.stringify(
        { name: 'redkit-pack-scratch', version: '1.0.0', private: true, type: 'module' },
        null,
        2,
      ),
    )
    await sh(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--no-package-lock',
        join(workDir, packed.filename),
        'typescript@5.9',
        '@types/node@20',
        // The optional peers of the subpaths loaded below.
        'express@5',
        'fastify@5',
        'express-rate-limit@8',
        'prom-client@15',
      ],
      scratch,
      SETUP_TIMEOUT_MS,
    )
  }, SETUP_TIMEOUT_MS * 2)

  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true })
  })

  it('ships the build, the README, the docs and no sources', () => {
    const paths = packed.files.map((file) => file.path)
    expect(paths).toContain('package.json')
    expect(paths).toContain('README.md')
    expect(paths).toContain('CHANGELOG.md')
    expect(paths).toContain('docs/getting-started.md')
    expect(paths).toContain('dist/cli/index.js')
    expect(paths).toContain('dist/index.js')
    expect(paths).toContain('dist/index.cjs')
    expect(paths).toContain('dist/index.d.ts')
    expect(paths).toContain('dist/index.d.cts')
    expect(paths.filter((path) => path.startsWith('src/') || path.startsWith('test/'))).toEqual([])
    const sources = paths.filter((path) => /\.[cm]?ts$/.test(path) && !/\.d\.[cm]?ts$/.test(path))
    expect(sources).toEqual([])
  })

  it('has every file the exports map points to', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, ExportTarget>
    }
    const paths = new Set(packed.files.map((file) => file.path))
    const targets: string[] = []
    const collect = (target: ExportTarget): void => {
      if (typeof target === 'string') targets.push(target.replace(/^\.\//, ''))
      else for (const nested of Object.values(target)) collect(nested)
    }
    for (const target of Object.values(manifest.exports)) collect(target)
    expect(Object.keys(manifest.exports)).toEqual(
      expect.arrayContaining(['.', ...SUBPATHS.map((subpath) => `./${subpath}`)]),
    )
    expect(targets.filter((target) => !paths.has(target))).toEqual([])
  })

  it(
    'loads with import from an .mjs file',
    async () => {
      await writeFile(join(scratch, 'check.mjs'), ESM_CHECK)
      const output = JSON.parse(await sh('node', ['check.mjs'], scratch)) as Record<string, string>
      expect(output).toMatchObject({ value: 'from-esm', mode: 'memory', testMode: 'memory' })
      expect(output.entry).toMatch(/\/node_modules\/redkit\/dist\/index\.js$/)
    },
    STEP_TIMEOUT_MS,
  )

  it(
    'loads with require from a .cjs file',
    async () => {
      await writeFile(join(scratch, 'check.cjs'), CJS_CHECK)
      const output = JSON.parse(await sh('node', ['check.cjs'], scratch)) as Record<string, string>
      expect(output).toMatchObject({ value: 'from-cjs', mode: 'memory', testMode: 'memory' })
      expect(output.entry).toMatch(/\/node_modules\/redkit\/dist\/index\.cjs$/)
    },
    STEP_TIMEOUT_MS,
  )

  it(
    'installs the CLI as a bin that runs',
    async () => {
      const help = await sh('node', [join(scratch, 'node_modules', '.bin', 'redkit'), '--help'], scratch)
      expect(help).toMatch(/doctor/)
      expect(help).toMatch(/invalidate/)
    },
    STEP_TIMEOUT_MS,
  )

  it(
    'type-checks for ESM and CommonJS consumers under NodeNext',
    async () => {
      await writeFile(join(scratch, 'check-types.ts'), ESM_TYPES)
      await writeFile(join(scratch, 'check-types.cts'), CJS_TYPES)
      await writeFile(join(scratch, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2))
      const tsc = join(scratch, 'node_modules', 'typescript', 'bin', 'tsc')
      await sh('node', [tsc, '--noEmit', '-p', '.'], scratch)
      // Each condition must resolve to its own declaration file (a .d.ts under `require` types
      // CommonJS code as ESM).
      const trace = await sh('node', [tsc, '--noEmit', '-p', '.', '--traceResolution'], scratch)
      expect(trace).toMatch(/Module name 'redkit' was successfully resolved to '[^']*\/dist\/index\.d\.ts'/)
      expect(trace).toMatch(/Module name 'redkit' was successfully resolved to '[^']*\/dist\/index\.d\.cts'/)
    },
    STEP_TIMEOUT_MS * 2,
  )
})
