// Starts throwaway redis-server processes for tests and gives tests the chaos controls over them.
// Every server gets its own port, temp dir and log, and is tracked so it cannot outlive the run.

import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pickPort, reservePort } from './free-port.js'
import type { TlsFiles } from './make-tls-files.js'
import { type ProbeTarget, probeProcessId } from './probe-server.js'
import { isRunning, makeTempDir, perProcess, removeAllTempDirs, trackChild } from './process-registry.js'
import { waitFor } from './wait-for.js'

/** Options of {@link startRedis}. */
export interface RedisServerOptions {
  /** Extra redis-server arguments, after the harness defaults so they win, e.g. `['--maxmemory', '10mb']`. */
  args?: string[]
  /** Sets `requirepass`; `cli` and `url` then authenticate with it. */
  password?: string
  /** Serve TLS only (`--tls-port`, plain port disabled), client certificates optional. */
  tls?: TlsFiles
  /** Fixed port; by default a random free one (retried on a collision). */
  port?: number
}

/** A redis-server process owned by the test. */
export interface RedisServer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** `redis://[:password@]127.0.0.1:port`, `rediss://` with TLS. */
  readonly url: string
  /** Pid of the current process (changes on `restart`). */
  readonly pid: number
  /** The server's temp dir (its `--dir`). */
  readonly dir: string
  /** Its stdout/stderr log, appended across restarts. */
  readonly logFile: string
  /**
   * Runs `redis-cli` against this server (port, password, TLS filled in) and resolves with its
   * trimmed stdout. Rejects when redis-cli fails, including on an error reply (`-e`), or after 10 s.
   */
  cli(...args: string[]): Promise<string>
  /** SIGKILL; resolves once the process is gone. */
  kill9(): Promise<void>
  /** SIGSTOP: the server keeps its connections but stops answering (a hang). */
  pause(): void
  /** SIGCONT after `pause`. */
  resume(): void
  /** Starts again on the same port, dir and args (killing it first if it runs); resolves when ready. */
  restart(): Promise<void>
  /** Graceful stop (SIGTERM, no save); resumes a paused server first. Idempotent. */
  stop(): Promise<void>
  /** `CONFIG SET maxmemory` and, if given, `maxmemory-policy`. */
  setMaxmemory(bytes: number, policy?: string): Promise<void>
}

/** How the cluster and sentinel helpers customise a launch. */
export interface LaunchSpec extends RedisServerOptions {
  /** Part of the temp dir name. */
  kind: string
  /** Also keep port + 10000 free (cluster bus). */
  clusterBus?: boolean
  /** Runs once in the fresh dir before the first start; returns arguments that go first (a config file). */
  prepare?: (dir: string) => Promise<string[]> | string[]
  /** How long the first start may take. @default 10000 */
  readyTimeoutMs?: number
}

const START_ATTEMPTS = 5
const STOP_GRACE_MS = 5000
const CLI_TIMEOUT_MS = 10_000
const LOG_TAIL_LINES = 25

const servers = perProcess('servers', () => new Set<ManagedRedisServer>())

/**
 * Starts a redis-server on a free loopback port with persistence off and resolves once it answers.
 * A failed start rejects with the end of the server's log.
 *
 * @example
 * const server = await startRedis({ password: 's3cret' })
 * const client = new Redis(server.url)
 */
export function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  return launchServer({ ...options, kind: 'redis' })
}

/** Stops every server this process started and removes all harness temp dirs; for `afterAll`. */
export async function stopAllServers(): Promise<void> {
  const running = [...servers]
  servers.clear()
  await Promise.all(running.map((server) => server.stop()))
  removeAllTempDirs()
}

/** Starts a server as described by `spec`; shared by `startRedis`, the cluster and the sentinel helpers. */
export async function launchServer(spec: LaunchSpec): Promise<ManagedRedisServer> {
  const dir = makeTempDir(spec.kind)
  const leadingArgs = spec.prepare ? await spec.prepare(dir) : []
  const fixedPort = spec.port
  if (fixedPort !== undefined) reservePort(fixedPort)
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await pickPort({ clusterBus: spec.clusterBus ?? false }))
    const argv = [...leadingArgs, ...serverArgs(port, dir, spec), ...(spec.args ?? [])]
    const server = new ManagedRedisServer(port, argv, dir, spec)
    const failure = await server.startProcess(spec.readyTimeoutMs ?? 10_000)
    if (!failure) {
      servers.add(server)
      return server
    }
    // Another worker may have bound the port between our check and the server's bind.
    const collided = /Address already in use/i.test(failure.log)
    if (!collided || fixedPort !== undefined || attempt >= START_ATTEMPTS) throw failure.error
  }
}

function serverArgs(port: number, dir: string, spec: LaunchSpec): string[] {
  const args = ['--save', '', '--appendonly', 'no', '--dir', dir, '--bind', '127.0.0.1']
  // No waiting for lagging replicas on SIGTERM: a paused replica must not stall `stop()`.
  args.push('--shutdown-timeout', '0', '--enable-debug-command', 'yes')
  // A master would wait 5 s for more replicas before a full sync; tests have one or two.
  args.push('--repl-diskless-sync-delay', '0')
  if (spec.password !== undefined) args.push('--requirepass', spec.password)
  if (spec.tls) {
    args.push('--port', '0', '--tls-port', String(port))
    args.push('--tls-cert-file', spec.tls.cert, '--tls-key-file', spec.tls.key)
    args.push('--tls-ca-cert-file', spec.tls.ca, '--tls-auth-clients', 'no')
  } else {
    args.push('--port', String(port))
  }
  return args
}

interface StartFailure {
  error: Error
  log: string
}

/** The one `RedisServer` implementation; exported for the cluster and sentinel helpers. */
export class ManagedRedisServer implements RedisServer {
  readonly host = '127.0.0.1' as const
  readonly url: string
  readonly logFile: string
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private stopping: Promise<void> | undefined
  private sigstopped = false
  private readonly target: ProbeTarget

  constructor(
    readonly port: number,
    private readonly argv: string[],
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {
    this.logFile = join(dir, 'redis.log')
    this.target = { port, password: options.password, tls: options.tls }
    const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`
    this.url = `${options.tls ? 'rediss' : 'redis'}://${auth}${this.host}:${port}`
  }

  get pid(): number {
    return this.child?.pid ?? -1
  }

  /** True while the process runs (paused counts as running). */
  get running(): boolean {
    return this.child !== undefined && isRunning(this.child)
  }

  /** True between `pause` and `resume` (or the end of the process). */
  get paused(): boolean {
    return this.running && this.sigstopped
  }

  cli(...args: string[]): Promise<string> {
    const connection = ['-h', this.host, '-p', String(this.port), '-e']
    if (this.options.password !== undefined) connection.push('-a', this.options.password, '--no-auth-warning')
    if (this.options.tls) connection.push('--tls', '--cacert', this.options.tls.ca)
    return new Promise((resolve, reject) => {
      execFile(
        'redis-cli',
        [...connection, ...args],
        { timeout: CLI_TIMEOUT_MS },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout.trim())
          const detail = stderr.trim() || stdout.trim() || error.message
          reject(
            new Error(`redis-cli ${args.join(' ')} on port ${this.port} failed: ${detail}`, { cause: error }),
          )
        },
      )
    })
  }

  async kill9(): Promise<void> {
    if (!this.running) return
    this.signal('SIGKILL')
    await this.exited
  }

  pause(): void {
    this.requireRunning('pause')
    this.signal('SIGSTOP')
    this.sigstopped = true
  }

  resume(): void {
    this.requireRunning('resume')
    this.signal('SIGCONT')
    this.sigstopped = false
  }

  async restart(): Promise<void> {
    if (this.stopping) await this.stopping
    await this.kill9()
    const failure = await this.startProcess(10_000)
    if (failure) throw failure.error
  }

  stop(): Promise<void> {
    if (!this.running) return Promise.resolve()
    this.stopping ??= this.stopGracefully().finally(() => {
      this.stopping = undefined
    })
    return this.stopping
  }

  async setMaxmemory(bytes: number, policy?: string): Promise<void> {
    const settings = ['maxmemory', String(bytes)]
    if (policy !== undefined) settings.push('maxmemory-policy', policy)
    await this.cli('CONFIG', 'SET', ...settings)
  }

  /**
   * Spawns the process and waits until it answers as itself (INFO's process_id is our pid, not
   * another worker's server on the same port). Resolves with the failure instead of throwing so
   * that `launchServer` can retry a port collision.
   */
  async startProcess(readyTimeoutMs: number): Promise<StartFailure | undefined> {
    const logFd = openSync(this.logFile, 'a')
    // Only this attempt's lines decide about a collision; earlier attempts appended to the same log.
    const logOffset = fstatSync(logFd).size
    let child: ChildProcess
    try {
      // The log file as stdout/stderr also catches config errors printed before logging starts.
      child = spawn('redis-server', this.argv, { cwd: this.dir, stdio: ['ignore', logFd, logFd] })
    } finally {
      closeSync(logFd)
    }
    let spawnError: Error | undefined
    this.child = child
    this.sigstopped = false
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve())
      child.once('error', (error) => {
        spawnError = error
        resolve()
      })
    })
    // The server must not keep the test process alive; the registry kills it at exit instead.
    child.unref()
    if (child.pid !== undefined) trackChild(child, this.dir)

    let outcome: 'ready' | 'exited' | undefined
    let timeoutError: unknown
    try {
      outcome = await waitFor(
        async () => {
          if (spawnError || !isRunning(child)) return 'exited' as const
          return (await probeProcessId(this.target, 1000)) === child.pid ? ('ready' as const) : undefined
        },
        { timeoutMs: readyTimeoutMs, intervalMs: 20, message: `redis-server on port ${this.port} not ready` },
      )
    } catch (error) {
      timeoutError = error
    }
    if (outcome === 'ready') return undefined
    if (isRunning(child)) {
      child.kill('SIGKILL')
      await this.exited
    }
    const log = this.logTail(logOffset)
    const reason = spawnError
      ? `spawn failed: ${spawnError.message}`
      : outcome === 'exited'
        ? `exited with ${child.exitCode ?? child.signalCode}`
        : (timeoutError as Error).message
    const error = new Error(
      `redis-server failed to start on port ${this.port} (${reason})\n--- end of ${this.logFile} ---\n${log}`,
    )
    return { error, log }
  }

  private async stopGracefully(): Promise<void> {
    // A stopped process would not act on SIGTERM until continued.
    this.signal('SIGCONT')
    this.sigstopped = false
    this.signal('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const inTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), STOP_GRACE_MS)
      }),
    ])
    clearTimeout(timer)
    if (!inTime) await this.kill9()
  }

  private signal(signal: NodeJS.Signals): void {
    if (!this.child?.pid || !this.running) return
    try {
      process.kill(this.child.pid, signal)
    } catch {
      // Exited between the check and the signal.
    }
  }

  private requireRunning(action: string): void {
    if (!this.running) throw new Error(`cannot ${action} the server on port ${this.port}: it is not running`)
  }

  private logTail(fromByte: number): string {
    try {
      return readFileSync(this.logFile)
        .subarray(fromByte)
        .toString('utf8')
        .trimEnd()
        .split('\n')
        .slice(-LOG_TAIL_LINES)
        .join('\n')
    } catch {
      return '(no log written)'
    }
  }
}
