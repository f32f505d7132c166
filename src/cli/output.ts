// Where the CLI's commands write: result lines and JSON on stdout, notes, prompts and progress bars on
// stderr. The terminal sink below is the only code in redkit that prints.

import { createInterface } from 'node:readline/promises'
import { Presets, SingleBar } from 'cli-progress'

/** A progress bar (or nothing, when progress is not shown). */
export interface Progress {
  /** Sets the work done so far; the total may grow as it becomes known. */
  update(done: number, total?: number): void
  stop(): void
}

/** What commands write to: a terminal, or a collector in tests. */
export interface Output {
  /** One line of the result, on stdout. */
  line(text: string): void
  /** The result as JSON, on stdout. */
  json(value: unknown): void
  /** A note for the person at the terminal (progress, warnings), on stderr. */
  note(text: string): void
  /** A progress bar on stderr, or a no-op when progress is off. */
  progress(label: string, total: number): Progress
  /** Asks a yes/no question; `undefined` when nobody can answer (no terminal). */
  confirm(question: string): Promise<boolean | undefined>
}

/** Options of {@link terminalOutput}. */
export interface TerminalOutputOptions {
  /**
   * Show progress bars: `true` always, `false` never.
   * @default only when stderr is a terminal
   */
  progress?: boolean
}

const NO_PROGRESS: Progress = { update: () => {}, stop: () => {} }

/** The sink `npx redkit` uses: process.stdout, process.stderr and process.stdin. */
export function terminalOutput(options: TerminalOutputOptions = {}): Output {
  const showProgress = options.progress ?? process.stderr.isTTY === true
  return {
    line: (text) => {
      process.stdout.write(`${text}\n`)
    },
    json: (value) => {
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
    },
    note: (text) => {
      process.stderr.write(`${text}\n`)
    },
    progress: (label, total) => {
      if (!showProgress) return NO_PROGRESS
      const bar = new SingleBar(
        {
          stream: process.stderr,
          format: `${label} [{bar}] {percentage}% | {value}/{total}`,
          hideCursor: process.stderr.isTTY === true,
          noTTYOutput: process.stderr.isTTY !== true,
          notTTYSchedule: 1000,
          etaBuffer: 50,
        },
        Presets.shades_classic,
      )
      bar.start(Math.max(total, 1), 0)
      let currentTotal = Math.max(total, 1)
      let stopped = false
      return {
        update: (done, newTotal) => {
          if (stopped) return
          if (newTotal !== undefined && newTotal !== currentTotal) {
            currentTotal = Math.max(newTotal, 1)
            bar.setTotal(currentTotal)
          }
          bar.update(Math.min(done, currentTotal))
        },
        stop: () => {
          if (stopped) return
          stopped = true
          bar.stop()
        },
      }
    },
    confirm: async (question) => {
      if (process.stdin.isTTY !== true) return undefined
      const prompt = createInterface({ input: process.stdin, output: process.stderr })
      try {
        const answer = await prompt.question(`${question} [y/N] `)
        return /^y(es)?$/i.test(answer.trim())
      } finally {
        prompt.close()
      }
    },
  }
}
