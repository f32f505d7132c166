import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors.js'
import { type AnyMethod, type DecoratedMethod, decorateMethod } from './method-decorator.js'

/** A decorator that records what it was told and wraps the method to tag its result. */
function recorder() {
  const seen: DecoratedMethod[] = []
  const decorate = decorateMethod('@Test', (original, method) => {
    seen.push(method)
    return async function (this: unknown, ...args: unknown[]) {
      return ['wrapped', await original.apply(this, args)]
    } satisfies AnyMethod
  })
  return { seen, decorate }
}

class Service {
  factor = 10
  async times(value: number, _unused?: string) {
    return value * this.factor
  }
  static async twice(value: number) {
    return value * 2
  }
}

describe('decorateMethod', () => {
  it('handles the standard call shape (method, context) and returns the replacement', async () => {
    const { seen, decorate } = recorder()
    const context = { kind: 'method', name: 'times', static: false, private: false }
    const replaced = decorate(Service.prototype.times, context) as Service['times']
    expect(seen[0]!.where).toBe('@Test on times')
    expect(seen[0]!.parameters?.names).toEqual(['value', '_unused'])
    expect(replaced.name).toBe('times')
    expect(await replaced.call(new Service(), 4)).toEqual(['wrapped', 40])
    decorate(Service.twice, { kind: 'method', name: 'twice', static: true, private: false })
    expect(seen[1]!.where).toBe('@Test on static twice')
  })

  it('handles the legacy call shape (target, key, descriptor) and returns the descriptor', async () => {
    const { seen, decorate } = recorder()
    const descriptor = Object.getOwnPropertyDescriptor(Service.prototype, 'times')!
    const returned = decorate(Service.prototype, 'times', descriptor) as PropertyDescriptor
    expect(returned).toBe(descriptor)
    expect(seen[0]!.where).toBe('@Test on Service.times')
    expect(await (descriptor.value as Service['times']).call(new Service(), 2)).toEqual(['wrapped', 20])
    decorate(Service, 'twice', Object.getOwnPropertyDescriptor(Service, 'twice'))
    expect(seen[1]!.where).toBe('@Test on Service.twice')
  })

  it('lets a decorator stacked on top of another see the original parameters', () => {
    const { seen, decorate } = recorder()
    const context = { kind: 'method', name: 'times', static: false, private: false }
    const inner = decorate(Service.prototype.times, context)
    decorate(inner, context)
    expect(seen[1]!.parameters?.names).toEqual(['value', '_unused'])
  })

  it('refuses fields, getters and setters in both modes', () => {
    const { decorate } = recorder()
    const field = () => decorate(undefined, { kind: 'field', name: 'x', static: false, private: false })
    expect(field).toThrow(InvalidOptionsError)
    expect(field).toThrow("not a field ('x')")
    expect(() => decorate(() => 1, { kind: 'getter', name: 'g', static: false, private: false })).toThrow(
      'not a getter',
    )
    const getter = {
      get value() {
        return 1
      },
    }
    const descriptor = Object.getOwnPropertyDescriptor(getter, 'value')
    expect(() => decorate(getter, 'value', descriptor)).toThrow('not properties, getters or setters')
    expect(() => decorate(Service.prototype, 'factor', undefined)).toThrow("'Service.factor'")
  })
})
