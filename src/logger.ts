// The logger contract redkit writes to (pino, bunyan and console-like objects fit) and a silent default.
// Library code logs only through this; nothing prints unless the app passes a logger.

/** A pino-like logger. Every method takes an object of fields first, then a message. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
}

const noop = (): void => {}

/** The default logger: drops everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }
