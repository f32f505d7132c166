// Loads the peer libraries benchmarks compare against from bench/peers/, installing them there on
// first use, so their own client versions never mix with redkit's dependencies.

import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

const PEERS_DIR = fileURLToPath(new URL('./peers/', import.meta.url))
const requireFromPeers = createRequire(new URL('./peers/package.json', import.meta.url))

/** Installs bench/peers (npm ci) when its node_modules is missing. */
export function ensurePeersInstalled(): void {
  if (existsSync(`${PEERS_DIR}node_modules/.package-lock.json`)) return
  process.stderr.write('installing benchmark peers in bench/peers (npm ci)...\n')
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: PEERS_DIR,
    stdio: 'inherit',
  })
}

/** Imports a package (or subpath) as installed in bench/peers. */
export async function importPeer<T = Record<string, unknown>>(specifier: string): Promise<T> {
  ensurePeersInstalled()
  return (await import(pathToFileURL(requireFromPeers.resolve(specifier)).href)) as T
}
