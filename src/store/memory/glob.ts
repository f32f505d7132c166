// Redis glob matching (SCAN/SSCAN MATCH) for the embedded store, compiled once per walk.
// Mirrors Redis `stringmatchlen` byte for byte, including its quirks, so both stores agree on every pattern.

/** Tests one key or member against a compiled glob pattern. */
export type GlobMatcher = (subject: string) => boolean

// Token codes: a byte (0..255) is a literal; negative values are operators or class indexes.
const ANY = -1
const STAR = -2
const CLASS_BASE = -3

const NON_ASCII = /[\u0080-\uffff]/

/**
 * Redis matches bytes, not UTF-16 code units: `?` on `é` needs two of them. Non-ASCII text is
 * turned into a string of its UTF-8 bytes (one char per byte) so matching can stay on strings.
 */
function toByteString(text: string): string {
  return NON_ASCII.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text
}

/**
 * Compiles a Redis glob pattern into a matcher.
 *
 * Semantics are those of Redis MATCH: `*` any run of bytes (also empty), `?` one byte, `[abc]` one of,
 * `[^abc]` none of, `[a-z]` a range (reversed bounds are swapped), `\x` a literal `x` (also inside
 * brackets). An unclosed `[` takes the rest of the pattern as its set. Matching is on UTF-8 bytes.
 * As in Redis, the empty string is matched only by the empty pattern and by exactly `*`.
 *
 * Runs in O(pattern × subject) at worst (no regular expression, so no catastrophic backtracking).
 * @example compileGlob('user:[0-9]*')('user:42') // true
 */
export function compileGlob(pattern: string): GlobMatcher {
  // SCAN skips matching altogether for exactly `*`, so only that spelling also matches the empty key.
  if (pattern === '*') return () => true
  const { tokens, classes } = parse(toByteString(pattern))
  const prefix = literalPrefixBeforeFinalStar(tokens)
  if (prefix) return (subject) => toByteString(subject).startsWith(prefix)
  return (subject) => matchTokens(tokens, classes, toByteString(subject))
}

function parse(pattern: string): { tokens: number[]; classes: Uint8Array[] } {
  const tokens: number[] = []
  const classes: Uint8Array[] = []
  const length = pattern.length
  let p = 0
  while (p < length) {
    const char = pattern.charCodeAt(p)
    if (char === 0x2a /* * */) {
      // Consecutive stars mean the same as one and would only slow the matcher down.
      if (tokens[tokens.length - 1] !== STAR) tokens.push(STAR)
      p++
    } else if (char === 0x3f /* ? */) {
      tokens.push(ANY)
      p++
    } else if (char === 0x5b /* [ */) {
      const parsed = parseClass(pattern, p + 1)
      classes.push(parsed.set)
      tokens.push(CLASS_BASE - (classes.length - 1))
      p = parsed.next
    } else if (char === 0x5c /* \ */ && p + 1 < length) {
      tokens.push(pattern.charCodeAt(p + 1))
      p += 2
    } else {
      tokens.push(char)
      p++
    }
  }
  return { tokens, classes }
}

/** Parses a bracket expression starting after `[`; the loop follows Redis step for step. */
function parseClass(pattern: string, start: number): { set: Uint8Array; next: number } {
  const length = pattern.length
  const set = new Uint8Array(256)
  let p = start
  const negate = p < length && pattern.charCodeAt(p) === 0x5e /* ^ */
  if (negate) p++
  while (true) {
    const remaining = length - p
    if (remaining >= 2 && pattern.charCodeAt(p) === 0x5c /* \ */) {
      set[pattern.charCodeAt(p + 1)] = 1
      p += 2
    } else if (remaining > 0 && pattern.charCodeAt(p) === 0x5d /* ] */) {
      p++
      break
    } else if (remaining <= 0) {
      // Unclosed: Redis ends the set at the end of the pattern.
      break
    } else if (remaining >= 3 && pattern.charCodeAt(p + 1) === 0x2d /* - */) {
      let low = signedByte(pattern.charCodeAt(p))
      let high = signedByte(pattern.charCodeAt(p + 2))
      if (low > high) [low, high] = [high, low]
      for (let byte = 0; byte < 256; byte++) {
        const value = signedByte(byte)
        if (value >= low && value <= high) set[byte] = 1
      }
      p += 3
    } else {
      set[pattern.charCodeAt(p)] = 1
      p++
    }
  }
  if (negate) for (let i = 0; i < 256; i++) set[i] = set[i] ? 0 : 1
  return { set, next: p }
}

/**
 * Redis compares range bounds as C `char`, which is signed on x86-64 servers: a range with a
 * non-ASCII bound such as `[é-z]` therefore covers bytes a byte-wise reading would not.
 */
function signedByte(byte: number): number {
  return byte >= 0x80 ? byte - 0x100 : byte
}

/** The literal text of patterns shaped `literal*` (the usual `prefix:*`), else `undefined`. */
function literalPrefixBeforeFinalStar(tokens: readonly number[]): string | undefined {
  if (tokens.length === 0 || tokens[tokens.length - 1] !== STAR) return undefined
  let prefix = ''
  for (let i = 0; i < tokens.length - 1; i++) {
    const token = tokens[i]!
    if (token < 0) return undefined
    prefix += String.fromCharCode(token)
  }
  return prefix
}

/**
 * Greedy matching that only backtracks to the last `*`: enough for globs, where every other token
 * consumes exactly one byte, and linear in the common cases.
 */
function matchTokens(tokens: readonly number[], classes: readonly Uint8Array[], subject: string): boolean {
  const tokenCount = tokens.length
  const subjectLength = subject.length
  let t = 0
  let s = 0
  let starToken = -1
  let starSubject = 0
  // Redis never enters its loop for an empty subject: only an empty pattern matches it.
  if (subjectLength === 0) return tokenCount === 0
  while (s < subjectLength) {
    const token = t < tokenCount ? tokens[t]! : undefined
    if (token === STAR) {
      starToken = t++
      starSubject = s
      continue
    }
    if (token !== undefined) {
      const char = subject.charCodeAt(s)
      const matches =
        token === ANY ? true : token >= 0 ? token === char : classes[CLASS_BASE - token]![char] === 1
      if (matches) {
        t++
        s++
        continue
      }
    }
    if (starToken < 0) return false
    t = starToken + 1
    s = ++starSubject
  }
  while (t < tokenCount && tokens[t] === STAR) t++
  return t === tokenCount
}
