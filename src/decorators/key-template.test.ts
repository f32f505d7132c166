import { describe, expect, it } from 'vitest'
import { cacheKeyOf } from '../cache/cache-keys.js'
import { InvalidOptionsError } from '../errors.js'
import { KeyTemplate, type TemplateSite } from './key-template.js'
import type { ParameterList } from './parameter-names.js'

const where = '@Cacheable on EventService.get'

function site(names: (string | undefined)[] | undefined, rest = false, allowResult = false): TemplateSite {
  const parameters: ParameterList | undefined = names === undefined ? undefined : { names, rest }
  return { where, parameters, allowResult }
}

/** The store key a template gives for some arguments, as the cache writes it. */
function keyFor(template: string, names: string[], args: unknown[]): string {
  return cacheKeyOf('', 'test', new KeyTemplate(template, site(names)).render(args))
}

function failure(build: () => unknown): InvalidOptionsError {
  try {
    build()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('KeyTemplate', () => {
  it('reads arguments by name and by position into separate parts', () => {
    const byName = new KeyTemplate('event:{id}:page:{page}', site(['id', 'page']))
    expect(byName.render(['42', 3])).toEqual(['event', '42', 'page', 3])
    const byIndex = new KeyTemplate('event:{0}:page:{1}', site(['id', 'page']))
    expect(byIndex.render(['42', 3])).toEqual(byName.render(['42', 3]))
    expect(new KeyTemplate('all', site([])).render([])).toEqual(['all'])
  })

  it('reads nested fields, by name or index, missing ones as undefined', () => {
    const template = new KeyTemplate('list:{query.page}:{0.filter.status}:{1.0}', site(['query', 'ids']))
    expect(template.render([{ page: 2, filter: { status: 'open' } }, ['a', 'b']])).toEqual([
      'list',
      2,
      'open',
      'a',
    ])
    expect(template.render([{}, []])).toEqual(['list', undefined, undefined, undefined])
    expect(template.render([undefined, null])).toEqual(['list', undefined, undefined, undefined])
  })

  it('keeps fixed text around one placeholder in a segment', () => {
    const template = new KeyTemplate('v{version}-x:{id}', site(['version', 'id']))
    expect(template.render([2, 'a'])).toEqual(['v2-x', 'a'])
    expect(template.render([undefined, 'a'])).toEqual(['v_-x', 'a'])
  })

  it('turns objects and arrays into stable JSON, and Date-like values into what they serialize to', () => {
    const template = new KeyTemplate('q:{0}', site(['query']))
    expect(template.render([{ b: 1, a: { d: 2, c: 3 } }])).toEqual(
      template.render([{ a: { c: 3, d: 2 }, b: 1 }]),
    )
    expect(template.render([{ b: 1, a: 2 }])).toEqual(['q', '{"a":2,"b":1}'])
    expect(template.render([[3, 'x']])).toEqual(['q', '[3,"x"]'])
    expect(template.render([new Date('2025-01-02T03:04:05.000Z')])).toEqual(['q', '2025-01-02T03:04:05.000Z'])
    const id = { toJSON: () => '65a1f0c2e4b0a1b2c3d4e5f6' }
    expect(template.render([id])).toEqual(['q', '65a1f0c2e4b0a1b2c3d4e5f6'])
  })

  it('gives the rest array for a rest parameter by name, one argument by index', () => {
    const template = new KeyTemplate('m:{ids}:{1}', site(['first', 'ids'], true))
    expect(template.render(['a', 'b', 'c'])).toEqual(['m', '["b","c"]', 'b'])
    // Past the declared parameters is fine with a rest parameter.
    expect(new KeyTemplate('{5}', site(['ids'], true)).render([0, 1, 2, 3, 4, 5])).toEqual([5])
  })

  it('keeps user input from forging separators: different arguments, different keys', () => {
    expect(keyFor('event:{id}', ['id'], ['a:b'])).not.toBe(keyFor('event:{a}:{b}', ['a', 'b'], ['a', 'b']))
    expect(keyFor('event:{id}', ['id'], ['a:b'])).toBe('event:a%3Ab')
    expect(keyFor('{a}:{b}', ['a', 'b'], ['x:y', 'z'])).not.toBe(keyFor('{a}:{b}', ['a', 'b'], ['x', 'y:z']))
    expect(keyFor('event:{id}', ['id'], ['*'])).not.toBe(keyFor('event:{id}', ['id'], ['other']))
    expect(keyFor('v{id}', ['id'], ['1:2'])).not.toBe(keyFor('v{id}:{x}', ['id', 'x'], ['1', '2']))
    expect(keyFor('event:{id}', ['id'], ['%3A'])).not.toBe(keyFor('event:{id}', ['id'], [':']))
    // Plain ids read as written by hand.
    expect(keyFor('event:{id}', ['id'], ['evt_42-a.b'])).toBe('event:evt_42-a.b')
  })

  it('renders tags with values escaped like key parts', () => {
    const tag = new KeyTemplate('vendor:{id}:orders', site(['id']), 'tag')
    expect(tag.renderTag([42])).toBe('vendor:42:orders')
    expect(tag.renderTag(['a:b'])).toBe('vendor:a%3Ab:orders')
    expect(tag.renderTag(['{x}'])).toBe('vendor:%7Bx%7D:orders')
  })

  it('reads {$result} only where the result is allowed', () => {
    const put = new KeyTemplate('event:{$result.id}', site(['input'], false, true))
    expect(put.render([{ name: 'x' }], { id: 7 })).toEqual(['event', 7])
    expect(put.usesResult).toBe(true)
    const error = failure(() => new KeyTemplate('event:{$result.id}', site(['input'])))
    expect(error.message).toContain('@CachePut only')
  })

  it('fails at parse time naming the method and the template for an unknown parameter', () => {
    const error = failure(() => new KeyTemplate('event:{idd}', site(['id', undefined, 'page'])))
    expect(error.message).toContain(where)
    expect(error.message).toContain("'event:{idd}'")
    expect(error.message).toContain('{idd}')
    expect(error.message).toContain('id, {1}: destructured, page')
  })

  it('fails for an index past the parameters, unless there is a rest parameter', () => {
    const error = failure(() => new KeyTemplate('{2}', site(['a', 'b'])))
    expect(error.message).toContain('past the method')
    expect(error.message).toContain("'{2}'")
  })

  it('fails for names when the parameter names are unknown, and allows positions', () => {
    expect(failure(() => new KeyTemplate('{id}', site(undefined))).message).toContain('use its position')
    expect(new KeyTemplate('{0}:{7.x}', site(undefined)).render(['a'])).toEqual(['a', undefined])
  })

  it('fails for malformed templates', () => {
    const cases: [unknown, string][] = [
      ['event:{id', "'{' without its '}'"],
      ['event:id}', "'}' without its '{'"],
      ['event:}id{', "'}' without its '{'"],
      ['event:{}', 'malformed placeholder'],
      ['event:{ id }', 'malformed placeholder'],
      ['event:{a-b}', 'malformed placeholder'],
      ['event:{a..b}', 'malformed placeholder'],
      ['event:{{id}}', 'malformed placeholder'],
      ['range:{id}-{page}', 'two placeholders'],
      ['', 'non-empty template'],
      [42, 'non-empty template'],
    ]
    for (const [template, problem] of cases) {
      const error = failure(() => new KeyTemplate(template, site(['id', 'page', 'a'])))
      expect(error.message, String(template)).toContain(problem)
      expect(error.message).toContain(where)
    }
  })

  it('fails at render time for values that are not data', () => {
    const template = new KeyTemplate('x:{0}', site(['value']))
    for (const value of [() => 1, Symbol('s'), Number.NaN, Number.POSITIVE_INFINITY, { f: () => 1 }]) {
      const error = failure(() => template.render([value]))
      expect(error.message).toContain(where)
      expect(error.message).toContain("'x:{0}'")
    }
  })
})
