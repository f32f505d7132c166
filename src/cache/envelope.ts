// The stored form of a cache entry: a short text header (format version, flags, times, tag versions)
// followed by the payload. Decoding reads the header with indexOf, so a hit costs little beyond JSON.parse.

/** Decoded envelope header and raw payload. */
export interface Envelope {
  /** How the payload is stored: see {@link PayloadFlags}. */
  flags: PayloadFlags
  /** When the entry was written (ms since epoch). */
  createdAt: number
  /** Until when the entry is fresh (ms since epoch). */
  freshUntil: number
  /** Until when a stale value may still be served (ms since epoch; >= freshUntil). */
  staleUntil: number
  /** Tag versions the value was built under (`tag=version` pairs, encoded), or '' for none. */
  tags: string
  /** Payload text: serializer text, or base64 of binary/compressed bytes. */
  payload: string
}

/** `binary`: payload is base64 of bytes. `compression`: how those bytes were compressed. `tagged`: JSON needs the reviver. */
export interface PayloadFlags {
  binary: boolean
  compression: 'none' | 'gzip' | 'brotli'
  tagged: boolean
}

/** The `freshUntil`/`staleUntil` of an entry without expiry. */
export const FOREVER = Number.MAX_SAFE_INTEGER

/** The payload of a cached `undefined`: serializer output of a defined value is never empty. */
export const UNDEFINED_PAYLOAD = ''

const MAGIC = 'rk1|'
const FIELD = '|'

const COMPRESSION_CODE = { none: '-', gzip: 'g', brotli: 'r' } as const

/** Encodes an envelope as text. */
export function encodeEnvelope(envelope: Envelope): string {
  const { flags } = envelope
  const flagText =
    (flags.binary ? 'b' : 't') + COMPRESSION_CODE[flags.compression] + (flags.tagged ? 's' : '-')
  return (
    MAGIC +
    flagText +
    FIELD +
    envelope.createdAt.toString(36) +
    FIELD +
    envelope.freshUntil.toString(36) +
    FIELD +
    envelope.staleUntil.toString(36) +
    FIELD +
    envelope.tags +
    FIELD +
    envelope.payload
  )
}

/** Decodes an envelope; `undefined` for anything that is not one (foreign or corrupt data). */
export function decodeEnvelope(raw: string): Envelope | undefined {
  // Hand-rolled: this runs on every cache hit, so no split(), no slices for the numbers.
  if (!raw.startsWith(MAGIC)) return undefined
  const at = MAGIC.length
  const binary = raw.charCodeAt(at)
  const compression = raw.charCodeAt(at + 1)
  const tagged = raw.charCodeAt(at + 2)
  if (
    (binary !== 98 && binary !== 116) ||
    (tagged !== 115 && tagged !== 45) ||
    raw.charCodeAt(at + 3) !== 124
  ) {
    return undefined
  }
  let compressionName: PayloadFlags['compression']
  if (compression === 45) compressionName = 'none'
  else if (compression === 103) compressionName = 'gzip'
  else if (compression === 114) compressionName = 'brotli'
  else return undefined
  let position = at + 4
  const createdAt = readBase36(raw, position)
  if (createdAt < 0) return undefined
  position = cursor + 1
  const freshUntil = readBase36(raw, position)
  if (freshUntil < 0) return undefined
  position = cursor + 1
  const staleUntil = readBase36(raw, position)
  if (staleUntil < 0) return undefined
  const tagsEnd = raw.indexOf(FIELD, cursor + 1)
  if (tagsEnd < 0) return undefined
  return {
    flags: { binary: binary === 98, compression: compressionName, tagged: tagged === 115 },
    createdAt,
    freshUntil,
    staleUntil,
    tags: tagsEnd === cursor + 1 ? '' : raw.slice(cursor + 1, tagsEnd),
    payload: raw.slice(tagsEnd + 1),
  }
}

/** Where the last {@link readBase36} stopped (the separator's index). Module state keeps it allocation-free. */
let cursor = 0

/** Reads base-36 digits from `position` up to the next separator; -1 when malformed. */
function readBase36(raw: string, position: number): number {
  let value = 0
  let digits = 0
  for (let i = position; i < raw.length; i++) {
    const code = raw.charCodeAt(i)
    if (code === 124) {
      cursor = i
      return digits === 0 ? -1 : value
    }
    let digit: number
    if (code >= 48 && code <= 57) digit = code - 48
    else if (code >= 97 && code <= 122) digit = code - 87
    else return -1
    value = value * 36 + digit
    if (++digits > 11) return -1
  }
  return -1
}
