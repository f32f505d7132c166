// Tracks every process and temp dir the harness creates, so nothing outlives the test process.
// Kills and removes them on exit, on SIGTERM/SIGINT/SIGHUP, and reaps leftovers of crashed runs.

import type { ChildProcess } from 'node:child_process'
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const DIR_PREFIX = 'redkit-harness-'
const OWNER_FILE = 'owner.pid'
const PIDS_FILE = 'children.pid'

interface Registry {
  children: Set<ChildProcess>
  dirs: Set<string>
  hooksInstalled: boolean
  reaped: boolean
}

// Vitest may load a module more than once in one worker (one module graph per test file); state
// kept here is per process, so the exit hooks and `stopAllServers` see everything.
const processStore = globalThis as typeof globalThis & { [key: symbol]: unknown }

/** One value per process under `name`, created on first use. */
export function perProcess<T>(name: string, create: () => T): T {
  const key = Symbol.for(`redkit.test-harness.${name}`)
  if (!(key in processStore)) processStore[key] = create()
  return processStore[key] as T
}

const registry = perProcess<Registry>('registry', () => ({
  children: new Set(),
  dirs: new Set(),
  hooksInstalled: false,
  reaped: false,
}))

/** Creates a temp dir owned by this process; it is removed when the process ends. */
export function makeTempDir(kind: string): string {
  installHooks()
  reapOrphans()
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${kind}-`))
  writeFileSync(join(dir, OWNER_FILE), String(process.pid))
  registry.dirs.add(dir)
  return dir
}

/** Removes a temp dir now instead of at exit. */
export function removeTempDir(dir: string): void {
  registry.dirs.delete(dir)
  rmSync(dir, { recursive: true, force: true })
}

/**
 * Registers a spawned server. Its pid is also written into its dir so that a later run can kill
 * it if this process dies without running its hooks (SIGKILL of the worker).
 */
export function trackChild(child: ChildProcess, dir: string): void {
  installHooks()
  registry.children.add(child)
  if (child.pid !== undefined) appendFileSync(join(dir, PIDS_FILE), `${child.pid}\n`)
  child.once('exit', () => registry.children.delete(child))
}

/** True while the child has neither exited nor been reaped. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/** Removes every tracked temp dir; used by `stopAllServers` after the servers stopped. */
export function removeAllTempDirs(): void {
  for (const dir of [...registry.dirs]) removeTempDir(dir)
}

// Must stay synchronous: it runs inside the 'exit' event, where no more I/O callbacks happen.
// SIGKILL also ends a SIGSTOPped (paused) server, so no SIGCONT is needed first.
function killEverythingNow(): void {
  for (const child of registry.children) {
    if (child.pid === undefined || !isRunning(child)) continue
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  registry.children.clear()
  for (const dir of registry.dirs) rmSync(dir, { recursive: true, force: true })
  registry.dirs.clear()
}

function installHooks(): void {
  if (registry.hooksInstalled) return
  registry.hooksInstalled = true
  process.on('exit', killEverythingNow)
  // Vitest ends idle fork workers with SIGTERM; a signal death skips 'exit', so the servers
  // would outlive the worker without these handlers.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killEverythingNow()
      process.off(signal, onSignal)
      // Keep the default meaning of the signal (terminate) unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}

// Servers of a test process that was SIGKILLed are orphans: kill them if they still run in
// their dir (a server chdirs into its --dir, so the cwd check rules out a reused pid).
function reapOrphans(): void {
  if (registry.reaped) return
  registry.reaped = true
  let entries: string[]
  try {
    entries = readdirSync(tmpdir()).filter((name) => name.startsWith(DIR_PREFIX))
  } catch {
    return
  }
  for (const name of entries) {
    const dir = join(tmpdir(), name)
    const owner = Number(readText(join(dir, OWNER_FILE)))
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue
    for (const line of readText(join(dir, PIDS_FILE)).split('\n')) {
      const pid = Number(line)
      if (!Number.isInteger(pid) || pid <= 0) continue
      let cwd = ''
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`)
      } catch {
        continue
      }
      if (cwd !== dir) continue
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Gone meanwhile.
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return ''
  }
}
