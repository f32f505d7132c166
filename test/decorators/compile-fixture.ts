// Compiles a decorator fixture with the TypeScript compiler itself, in one decorator mode, and imports
// the JavaScript it emits: vitest's own transform would pick the mode for us and prove nothing.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'

export type DecoratorMode = 'standard' | 'legacy'

export interface CompiledFixture<M> {
  /** The emitted module, imported. */
  module: M
  /** The emitted JavaScript. */
  javascript: string
  /** Type errors in the fixture under this mode (expected: none). */
  diagnostics: string[]
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const directories: string[] = []

/**
 * Type-checks `fixture` (a path relative to the repository) and emits it: standard decorators, or
 * `experimentalDecorators` + `emitDecoratorMetadata` as NestJS projects use.
 */
export async function compileFixture<M>(fixture: string, mode: DecoratorMode): Promise<CompiledFixture<M>> {
  const file = join(ROOT, fixture)
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    strict: true,
    skipLibCheck: true,
    noEmitOnError: true,
    useDefineForClassFields: true,
    experimentalDecorators: mode === 'legacy',
    emitDecoratorMetadata: mode === 'legacy',
  }
  const program = ts.createProgram([file], options)
  const source = program.getSourceFile(file)
  if (source === undefined) throw new Error(`fixture ${fixture} not found`)
  const diagnostics = ts
    .getPreEmitDiagnostics(program, source)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  let javascript = ''
  program.emit(source, (name, text) => {
    if (name.endsWith('.js')) javascript = text
  })
  if (javascript === '') throw new Error(`${fixture} (${mode}) emitted nothing:\n${diagnostics.join('\n')}`)
  const directory = mkdtempSync(join(tmpdir(), `redkit-decorators-${mode}-`))
  directories.push(directory)
  // .mjs: the emitted ES module runs as one without a package.json beside it.
  const output = join(directory, 'services.mjs')
  writeFileSync(output, javascript)
  const module = (await import(pathToFileURL(output).href)) as M
  return { module, javascript, diagnostics }
}

/** Removes the emitted files. */
export function removeCompiledFixtures(): void {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
}
