// Renders errors and log records every way an app might print them, so a test can assert that a
// credential appears in none: util.inspect at full depth, a pino-style JSON serializer, and String().

import { inspect } from 'node:util'
import type { Logger } from '../../src/index.js'

/** A pino-style error serializer: type, message, stack, every own enumerable field, causes and `errors`. */
export function serializeError(error: unknown, seen = new Set<unknown>()): unknown {
  if (!(error instanceof Error) || seen.has(error)) return error
  seen.add(error)
  const out: Record<string, unknown> = {
    type: error.constructor.name,
    message: error.message,
    stack: error.stack,
  }
  for (const [key, value] of Object.entries(error)) out[key] = serializeError(value, seen)
  if (error.cause !== undefined) out.cause = serializeError(error.cause, seen)
  if (error instanceof AggregateError) out.errors = error.errors.map((inner) => serializeError(inner, seen))
  return out
}

/** Everything an app could print of `value`. */
export function renderings(value: unknown): string[] {
  return [
    inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true }),
    JSON.stringify(serializeError(value)) ?? '',
    String(value),
  ]
}

/** A logger that keeps every record (fields and message), rendered at full depth. */
export function collectingLogger(): Logger & { records: string[] } {
  const records: string[] = []
  const keep = (fields: unknown, message?: string) => {
    records.push(`${message ?? ''} ${inspect(fields, { depth: Number.POSITIVE_INFINITY, showHidden: true })}`)
    records.push(JSON.stringify(fields, (_key, value) => serializeError(value)) ?? '')
  }
  return { records, debug: keep, info: keep, warn: keep, error: keep }
}

/** The renderings among `texts` that contain `secret`, for an assertion message. */
export function leaks(texts: readonly string[], secret: string): string[] {
  return texts.filter((text) => text.includes(secret))
}
