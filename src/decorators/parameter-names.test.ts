import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { parameterNames } from './parameter-names.js'

type Method = (...args: never[]) => unknown

/** A function from source text, as `fn.toString()` of real code gives it. */
function compiled(source: string): (...args: never[]) => unknown {
  return new Function(`return (${source})`)() as (...args: never[]) => unknown
}

const names = (source: string) => parameterNames(compiled(source))

describe('parameterNames', () => {
  it('reads functions, async functions and generators', () => {
    expect(names('function get(id, options) { return id }')).toEqual({
      names: ['id', 'options'],
      rest: false,
    })
    expect(names('async function (a) {}')).toEqual({ names: ['a'], rest: false })
    expect(names('function* pages(size, ...rest) {}')).toEqual({ names: ['size', 'rest'], rest: true })
    expect(names('async function* stream(cursor) {}')).toEqual({ names: ['cursor'], rest: false })
    expect(names('function () {}')).toEqual({ names: [], rest: false })
  })

  it('reads arrows with and without parentheses', () => {
    expect(names('(a, b) => a + b')).toEqual({ names: ['a', 'b'], rest: false })
    expect(names('id => id')).toEqual({ names: ['id'], rest: false })
    expect(names('async id => id')).toEqual({ names: ['id'], rest: false })
    expect(names('async (id, page) => id')).toEqual({ names: ['id', 'page'], rest: false })
    expect(names('() => 1')).toEqual({ names: [], rest: false })
    expect(names('(...all) => all')).toEqual({ names: ['all'], rest: true })
  })

  it('reads methods: plain, async, generator, computed and quoted names, static', () => {
    const object = compiled(`{
      get(id, page) {},
      async load(id) {},
      *walk(node) {},
      ['comp' + 'uted(x, y)'](a, b) {},
      'quoted (name, here)'(first) {},
      [Symbol.iterator](step) {},
    }`) as unknown as Record<string | symbol, (...args: never[]) => unknown>
    expect(parameterNames(object.get!)?.names).toEqual(['id', 'page'])
    expect(parameterNames(object.load!)?.names).toEqual(['id'])
    expect(parameterNames(object.walk!)?.names).toEqual(['node'])
    expect(parameterNames(object['computed(x, y)']!)?.names).toEqual(['a', 'b'])
    expect(parameterNames(object['quoted (name, here)']!)?.names).toEqual(['first'])
    expect(parameterNames(object[Symbol.iterator]!)?.names).toEqual(['step'])
    class Service {
      static async list(page: number, size: number) {
        return [page, size]
      }
      async get(id: string) {
        return id
      }
    }
    expect(parameterNames(Service.list)?.names).toEqual(['page', 'size'])
    expect(parameterNames(Service.prototype.get)?.names).toEqual(['id'])
  })

  it('steps over default values of any shape', () => {
    const source = String.raw`function f(
      a = 1,
      b = { x: [1, 2], y: (3, 4) },
      c = 'str,) \', (',
      d = "quo\"te,",
      e = (x, y) => x,
      t = ${'`'}tpl, ${'${'}'}'} ${'${'}g(1, 2)} ${'${'}${'`'}nested ${'${'}')'}${'`'}}${'`'},
      r = /[),]\/,/g,
      q = 4 / 2, w = a / b / 2,
      last
    ) {}`
    expect(names(source)).toEqual({
      names: ['a', 'b', 'c', 'd', 'e', 't', 'r', 'q', 'w', 'last'],
      rest: false,
    })
  })

  it('gives destructured parameters no name, keeping positions', () => {
    expect(names('function f({ id, name } = {}, [first, second], last) {}')).toEqual({
      names: [undefined, undefined, 'last'],
      rest: false,
    })
    expect(names('({ id }) => id')).toEqual({ names: [undefined], rest: false })
    expect(names('function f(a, ...[b, c]) {}')).toEqual({ names: ['a', undefined], rest: true })
  })

  it('ignores comments, line breaks and a trailing comma', () => {
    expect(names('function /* (x, y) */ f(a /* first, */, // second )\n b,) {}')).toEqual({
      names: ['a', 'b'],
      rest: false,
    })
    expect(names('async (\n  // the id\n  id,\n  /** page */ page = 1,\n) => id')).toEqual({
      names: ['id', 'page'],
      rest: false,
    })
  })

  it('reads async methods as TypeScript compiles them below ES2017', () => {
    const source = `class Service {
      async get(id: string, page = 1, { sort }: { sort?: string } = {}, ...rest: unknown[]) { return id }
      async paged(id: string, page = 1) { return id }
      async plain(id: string, page: number) { return id }
      list(filter: string) { return (async function (inner = 1) { return inner })() }
    }`
    const compile = (target: ts.ScriptTarget) => {
      const output = ts.transpileModule(source, { compilerOptions: { target } }).outputText
      expect(output).toContain('__awaiter(this, arguments')
      return (new Function(`${output}; return Service`)() as { prototype: Record<string, Method> }).prototype
    }
    const es2015 = compile(ts.ScriptTarget.ES2015)
    expect(parameterNames(es2015.get!)).toEqual({ names: ['id', 'page', undefined, 'rest'], rest: true })
    const es5 = compile(ts.ScriptTarget.ES5)
    for (const compiled of [es2015, es5]) {
      expect(parameterNames(compiled.paged!)).toEqual({ names: ['id', 'page'], rest: false })
      expect(parameterNames(compiled.plain!)?.names).toEqual(['id', 'page'])
      expect(parameterNames(compiled.list!)?.names).toEqual(['filter'])
    }
  })

  it('reads unicode and $ names', () => {
    expect(names('function f(été, $x, _y, ünïcödé) {}')?.names).toEqual(['été', '$x', '_y', 'ünïcödé'])
  })

  it('is undefined when the source is not available', () => {
    expect(parameterNames(Math.max)).toBeUndefined()
    expect(
      parameterNames(
        function f(this: unknown, a: number) {
          return a
        }.bind(null),
      ),
    ).toBeUndefined()
    expect(parameterNames(new Proxy(() => 1, {}))).toBeUndefined()
  })

  it('is undefined for a class rather than guessing at its constructor', () => {
    expect(names('class Service { constructor(db) {} }')).toBeUndefined()
  })
})
