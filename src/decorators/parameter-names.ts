// Reads a function's parameter names from its source text, so key templates can say `{id}` instead of
// `{0}`: a small scanner that steps over strings, templates, comments, regexes and nested brackets.

/** The parameters of a function as its source declares them. */
export interface ParameterList {
  /** Names by position; `undefined` for a destructured parameter (reachable by index only). */
  readonly names: readonly (string | undefined)[]
  /** Whether the last parameter is a rest parameter (`...ids`). */
  readonly rest: boolean
}

const IDENTIFIER = /[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*/uy
const NATIVE = /\{\s*\[native code\]\s*\}\s*$/
// Only as the whole body of the function: an inner async function compiled the same way is not ours.
const AWAITER = /^[^{]*\)\s*\{\s*return\s+__awaiter\(\s*this,\s*arguments,\s*[\w\s]+,\s*function\s*\*?\s*\(/
const CLOSERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' }
// After one of these a '/' starts a regular expression, elsewhere it divides.
const BEFORE_REGEX = new Set([...'(,=:[!&|?{};+-*%<>~^'])

/**
 * The parameters of `fn`, read from `Function.prototype.toString`: regular and async functions, methods
 * (computed names too), arrows, generators; defaults, destructuring, rest parameters and comments.
 * `undefined` when the source is not available (native or bound functions) or cannot be read.
 * @example parameterNames(async function get(id, { page } = {}, ...rest) {}) // { names: ['id', undefined, 'rest'], rest: true }
 */
export function parameterNames(fn: (...args: never[]) => unknown): ParameterList | undefined {
  let source: string
  try {
    source = Function.prototype.toString.call(fn)
  } catch {
    return undefined
  }
  if (NATIVE.test(source)) return undefined
  // TypeScript below ES2017 moves the parameters of an async function with defaults, destructuring or
  // rest into the function it runs (`__awaiter(this, arguments, void 0, function* (id, page = 1) {`).
  const downlevel = AWAITER.exec(source)
  if (downlevel !== null) return readParameters(source, downlevel.index + downlevel[0].length - 1)
  const open = findParameterList(source)
  if (open === undefined) return undefined
  if (typeof open === 'string') return { names: [open], rest: false }
  return readParameters(source, open)
}

/** Where the parameter list opens, or the one name of an arrow without parentheses (`id => ...`). */
function findParameterList(source: string): number | string | undefined {
  let i = 0
  while (i < source.length) {
    i = skipTrivia(source, i)
    const char = source[i]
    if (char === undefined) return undefined
    if (char === '(') return i
    if (char === '[') {
      // A computed method name: `[Symbol.iterator](...)`.
      const end = scan(source, i + 1, ']')
      if (end < 0) return undefined
      i = end + 1
    } else if (char === '"' || char === "'") {
      // A quoted method name: `'get event'(...)`.
      const end = skipString(source, i)
      if (end < 0) return undefined
      i = end
    } else if (char === '{' || char === '=') {
      return undefined
    } else {
      IDENTIFIER.lastIndex = i
      const word = IDENTIFIER.exec(source)
      if (word === null) {
        i++
        continue
      }
      i = skipTrivia(source, i + word[0].length)
      if (source.startsWith('=>', i)) return word[0]
    }
  }
  return undefined
}

function readParameters(source: string, open: number): ParameterList | undefined {
  const names: (string | undefined)[] = []
  let rest = false
  let i = open + 1
  for (;;) {
    i = skipTrivia(source, i)
    // `()` and a trailing comma `(a, b,)`.
    if (source[i] === ')') return { names, rest }
    rest = source.startsWith('...', i)
    if (rest) i = skipTrivia(source, i + 3)
    IDENTIFIER.lastIndex = i
    const word = IDENTIFIER.exec(source)
    if (word !== null) {
      names.push(word[0])
      i += word[0].length
    } else if (source[i] === '{' || source[i] === '[') {
      names.push(undefined)
    } else {
      return undefined
    }
    i = scan(source, i, ',)')
    if (i < 0) return undefined
    if (source[i] === ')') return { names, rest }
    i++
  }
}

/**
 * The index of the first character of `stops` found outside strings, templates, comments, regexes and
 * brackets, from `i`; -1 when there is none.
 */
function scan(source: string, start: number, stops: string): number {
  // The last significant character: tells a regex from a division.
  let previous = ''
  let i = start
  while (i < source.length) {
    const char = source[i]!
    if (stops.includes(char)) return i
    if (/\s/.test(char) || (char === '/' && (source[i + 1] === '/' || source[i + 1] === '*'))) {
      i = skipTrivia(source, i)
      continue
    }
    let next: number
    if (char === '"' || char === "'") next = skipString(source, i)
    else if (char === '`') next = skipTemplate(source, i)
    else if (char === '/' && (previous === '' || BEFORE_REGEX.has(previous))) next = skipRegex(source, i)
    else if (CLOSERS[char] !== undefined) {
      const end = scan(source, i + 1, CLOSERS[char])
      next = end < 0 ? -1 : end + 1
    } else if (char === ')' || char === ']' || char === '}') return -1
    else next = i + 1
    if (next < 0) return -1
    // A string, template, regex or bracketed group is a value, like the closer that ends it.
    previous = next - i > 1 ? ')' : char
    i = next
  }
  return -1
}

/** Past whitespace and comments from `i`. */
function skipTrivia(source: string, start: number): number {
  let i = start
  while (i < source.length) {
    const char = source[i]!
    if (/\s/.test(char)) {
      i++
    } else if (char === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i)
      i = end < 0 ? source.length : end + 1
    } else if (char === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2)
      i = end < 0 ? source.length : end + 2
    } else {
      break
    }
  }
  return i
}

/** Past a quoted string starting at `i`, or -1. */
function skipString(source: string, start: number): number {
  const quote = source[start]
  for (let i = start + 1; i < source.length; i++) {
    const char = source[i]
    if (char === '\\') i++
    else if (char === quote) return i + 1
    else if (char === '\n') return -1
  }
  return -1
}

/** Past a template literal starting at `i` (with `${...}` nested to any depth), or -1. */
function skipTemplate(source: string, start: number): number {
  for (let i = start + 1; i < source.length; i++) {
    const char = source[i]
    if (char === '\\') i++
    else if (char === '`') return i + 1
    else if (char === '$' && source[i + 1] === '{') {
      const end = scan(source, i + 2, '}')
      if (end < 0) return -1
      i = end
    }
  }
  return -1
}

/** Past a regular expression literal starting at `i` (flags are read as a word after it), or -1. */
function skipRegex(source: string, start: number): number {
  let inClass = false
  for (let i = start + 1; i < source.length; i++) {
    const char = source[i]
    if (char === '\\') i++
    else if (char === '\n') return -1
    else if (inClass) inClass = char !== ']'
    else if (char === '[') inClass = true
    else if (char === '/') return i + 1
  }
  return -1
}
