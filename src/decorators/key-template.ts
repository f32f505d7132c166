// Key and tag templates of the cache decorators ('event:{id}', '{0.page}'): parsed and checked against the
// method's parameters once, at decoration time; rendered into key parts per call, user input escaped.

import { InvalidOptionsError } from '../errors.js'
import { KeyBuilder, type KeyPart, stableJson } from '../keys/key-builder.js'
import type { ParameterList } from './parameter-names.js'

/** Where a template sits, for error messages: `@Cacheable on EventService.get`. */
export interface TemplateSite {
  readonly where: string
  /** The method's parameters, `undefined` when its source could not be read. */
  readonly parameters: ParameterList | undefined
  /** Whether `{$result}` names the method's result (CachePut). */
  readonly allowResult: boolean
}

/** A placeholder: an argument (by position, or the rest array from it) or the result, then a field path. */
interface Reference {
  readonly text: string
  readonly source: 'argument' | 'rest' | 'result'
  readonly index: number
  readonly path: readonly string[]
}

/** One `:`-separated segment: fixed text, or one placeholder with fixed text around it. */
type Segment =
  | { readonly literal: string }
  | { readonly before: string; readonly reference: Reference; readonly after: string }

const PATH = /^(?:[A-Za-z_$][\w$]*|\d+)(?:\.(?:[A-Za-z_$][\w$]*|\d+))*$/
const RESULT = '$result'
// Tags are flat strings; formatting them through a key builder escapes ':' and braces in values like keys.
const TAGS = new KeyBuilder('')

/** A parsed template; {@link render} builds the key parts of one call. */
export class KeyTemplate {
  readonly template: string
  readonly #segments: readonly Segment[]
  readonly #where: string

  /**
   * Parses and checks a template.
   * @throws InvalidOptionsError for a malformed template or a placeholder naming no parameter
   */
  constructor(template: unknown, site: TemplateSite, option = 'key') {
    if (typeof template !== 'string' || template === '') {
      throw new InvalidOptionsError(
        `${site.where}: ${option} must be a non-empty template string such as 'event:{id}', got ${describe(template)}.`,
      )
    }
    this.template = template
    this.#where = site.where
    this.#segments = template.split(':').map((segment) => parseSegment(segment, template, site, option))
  }

  /** Whether a placeholder reads the method's result (the template can only be rendered after the call). */
  get usesResult(): boolean {
    return this.#segments.some((segment) => 'reference' in segment && segment.reference.source === 'result')
  }

  /**
   * The key parts for one call: fixed text as is, each value as a part of its own (the cache encodes
   * `:`, `{`, `}` and `%`, so values cannot forge a separator); objects and arrays as stable JSON.
   * @throws InvalidOptionsError when a value is a function or symbol, or a non-finite number
   */
  render(args: readonly unknown[], result?: unknown): KeyPart[] {
    return this.#wrap(() =>
      this.#segments.map((segment) => {
        if ('literal' in segment) return segment.literal
        const part = valueAt(segment.reference, args, result)
        if (segment.before === '' && segment.after === '') return part
        return segment.before + text(part) + segment.after
      }),
    )
  }

  /** The template rendered as a tag string, e.g. `vendor:42` (values escaped like key parts). */
  renderTag(args: readonly unknown[], result?: unknown): string {
    const parts = this.render(args, result)
    return this.#wrap(() => TAGS.build(...parts))
  }

  #wrap<T>(build: () => T): T {
    try {
      return build()
    } catch (error) {
      if (!(error instanceof InvalidOptionsError)) throw error
      throw new InvalidOptionsError(`${this.#where}: template '${this.template}': ${error.message}`)
    }
  }
}

function parseSegment(segment: string, template: string, site: TemplateSite, option: string): Segment {
  const open = segment.indexOf('{')
  const close = segment.indexOf('}')
  if (open < 0 && close < 0) return { literal: segment }
  const fail = (problem: string): never => {
    throw new InvalidOptionsError(`${site.where}: ${option} template '${template}' ${problem}.`)
  }
  if (close < 0) fail(`has a '{' without its '}'`)
  if (open < 0 || close < open) fail(`has a '}' without its '{'`)
  const inner = segment.slice(open + 1, close)
  if (!PATH.test(inner)) {
    fail(
      `has a malformed placeholder '{${inner}}'; write {name}, {0}, or a field path such as {query.page} or {0.page}`,
    )
  }
  const after = segment.slice(close + 1)
  if (after.includes('{') || after.includes('}')) {
    fail(`has two placeholders in '${segment}'; put ':' between them, e.g. '{from}:{to}'`)
  }
  return { before: segment.slice(0, open), reference: resolve(inner, template, site, option), after }
}

function resolve(inner: string, template: string, site: TemplateSite, option: string): Reference {
  const [head, ...path] = inner.split('.') as [string, ...string[]]
  const text = `{${inner}}`
  const parameters = site.parameters
  const fail = (problem: string): never => {
    throw new InvalidOptionsError(`${site.where}: ${option} template '${template}': ${problem}.`)
  }
  if (head === RESULT && site.allowResult) return { text, source: 'result', index: 0, path }
  if (/^\d+$/.test(head)) {
    const index = Number(head)
    const count = parameters?.names.length
    if (parameters !== undefined && !parameters.rest && index >= (count ?? 0)) {
      fail(`${text} is past the method's ${count} parameter${count === 1 ? '' : 's'} (${list(parameters)})`)
    }
    // An index at or past a rest parameter reads that one argument, not the rest array.
    return { text, source: 'argument', index, path }
  }
  if (parameters === undefined) {
    fail(
      `${text} names a parameter, but the method's parameter names cannot be read (native, bound or wrapped function); use its position, e.g. {0}`,
    )
  }
  const index = parameters!.names.indexOf(head)
  if (index < 0) {
    const hint = head === RESULT ? '; {$result} is available in @CachePut only' : ''
    fail(`${text} names no parameter of the method (${list(parameters!)})${hint}`)
  }
  const rest = parameters!.rest && index === parameters!.names.length - 1
  return { text, source: rest ? 'rest' : 'argument', index, path }
}

/** The value a placeholder reads in one call, as one key part. */
function valueAt(reference: Reference, args: readonly unknown[], result: unknown): KeyPart {
  let value: unknown =
    reference.source === 'result'
      ? result
      : reference.source === 'rest'
        ? args.slice(reference.index)
        : args[reference.index]
  for (const field of reference.path) {
    value = value === null || value === undefined ? undefined : (value as Record<string, unknown>)[field]
  }
  return toPart(value, reference.text)
}

function toPart(value: unknown, placeholder: string): KeyPart {
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value))
        throw new InvalidOptionsError(`${placeholder} is ${value}, not a finite number.`)
      return value
    case 'string':
    case 'bigint':
    case 'boolean':
    case 'undefined':
      return value
    case 'object': {
      if (value === null) return null
      // Dates, ObjectIds, decimals...: what they serialize to.
      const json = (value as { toJSON?: unknown }).toJSON
      const plain = typeof json === 'function' ? (json as () => unknown).call(value) : value
      return typeof plain === 'string' ? plain : stableJson(plain)
    }
    default:
      throw new InvalidOptionsError(
        `${placeholder} is a ${typeof value}; key and tag values must be plain data (strings, numbers, objects, arrays).`,
      )
  }
}

/** A part inside fixed text ('v{id}'): what the key builder would write for it alone, before escaping. */
function text(part: KeyPart): string {
  if (typeof part === 'string') return part
  return part === null || part === undefined ? '_' : String(part)
}

function list(parameters: ParameterList): string {
  if (parameters.names.length === 0) return 'none'
  return parameters.names
    .map((name, i) => {
      const shown = name ?? `{${i}}: destructured`
      return parameters.rest && i === parameters.names.length - 1 ? `...${shown}` : shown
    })
    .join(', ')
}

function describe(value: unknown): string {
  if (typeof value === 'string') return "''"
  return value === null ? 'null' : typeof value
}
