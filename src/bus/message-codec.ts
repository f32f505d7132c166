// Wire format of bus messages: a versioned JSON envelope carrying the sender's id, so an instance can
// recognise (and usually ignore) its own messages, and anything foreign on the channel is rejected.

/** A decoded bus message. */
export interface BusMessage<T = unknown> {
  /** Id of the redkit instance that published it. */
  source: string
  /** The published payload. */
  payload: T
}

const VERSION = 1

/** Encodes a payload with the sender's id. */
export function encodeMessage(source: string, payload: unknown): string {
  return JSON.stringify({ v: VERSION, s: source, p: payload })
}

/** Decodes a message; `undefined` for anything that is not a well-formed message of this version. */
export function decodeMessage(raw: string): BusMessage | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw, (key, value) => (key === '__proto__' ? undefined : value))
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const record = parsed as Record<string, unknown>
  if (record.v !== VERSION || typeof record.s !== 'string' || !('p' in record)) return undefined
  return { source: record.s, payload: record.p }
}
