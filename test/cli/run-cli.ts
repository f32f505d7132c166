// Runs `redkit` from the sources as a real child process (tsx with the .lua loader, as `npm start`
// does) and collects everything it printed, so tests can check exit codes, output and secrets.

import { execFile } from 'node:child_process'
import { resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')
const TSX = resolve(ROOT, 'node_modules/.bin/tsx')

/** What one run printed and how it ended. */
export interface CliRun {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed as JSON (for `--json` runs). */
  json<T = Record<string, unknown>>(): T
}

/** Everything every run printed, for the secret scan. */
export const printed: string[] = []

/**
 * Runs the CLI with `args`. The child sees no REDIS_* variables of this process, only `env`; its stdin
 * is not a terminal.
 */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REDIS_')))
  return new Promise((done, fail) => {
    execFile(
      TSX,
      ['--import', './scripts/lua-loader.mjs', 'src/cli/index.ts', ...args],
      { cwd: ROOT, env: { ...clean, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        if (code === -1) {
          fail(new Error(`redkit ${args.join(' ')} did not finish: ${error?.message}\n${stderr}`))
          return
        }
        printed.push(stdout, stderr)
        done({
          code,
          stdout,
          stderr,
          json: <T>() => {
            try {
              return JSON.parse(stdout) as T
            } catch {
              throw new Error(`redkit ${args.join(' ')} printed no JSON:\n${stdout}\n${stderr}`)
            }
          },
        })
      },
    )
  })
}
