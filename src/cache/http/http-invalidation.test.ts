import { afterAll, describe, expect, it, vi } from 'vitest'
import { InvalidOptionsError } from '../../errors.js'
import { createRedkit, type Redkit } from '../../index.js'
import { HttpInvalidation } from './http-invalidation.js'

const kits: Redkit[] = []
afterAll(async () => {
  for (const kit of kits) await kit.close()
})

function kitWithLog() {
  const warnings: string[] = []
  const noop = () => {}
  const kit = createRedkit({
    url: 'memory',
    app: 'invalidate',
    environment: {},
    logger: { debug: noop, info: noop, error: noop, warn: (_fields, message) => warnings.push(message) },
  })
  kits.push(kit)
  return { kit, warnings }
}

function counters(kit: Redkit) {
  return (kit.metrics().http as { invalidateOn: { invalidations: number; tags: number; errors: number } })
    .invalidateOn
}

describe('invalidateOn core', () => {
  it('checks its arguments at construction', () => {
    const { kit } = kitWithLog()
    expect(() => new HttpInvalidation(undefined as unknown as Redkit, () => [])).toThrow(
      /redkit instance first/,
    )
    expect(() => new HttpInvalidation(kit, 'tags' as unknown as () => [])).toThrow(/must be a function/)
    expect(() => new HttpInvalidation(kit, () => [], { method: ['POST'] } as never)).toThrow(
      /did you mean 'methods'/,
    )
    expect(() => new HttpInvalidation(kit, () => [], { methods: [] })).toThrow(InvalidOptionsError)
    const core = new HttpInvalidation(kit, () => [], { methods: ['post'] })
    expect(core.applies('POST')).toBe(true)
    expect(core.applies('PUT')).toBe(false)
    expect(new HttpInvalidation(kit, () => []).applies('DELETE')).toBe(true)
  })

  it('invalidates after 2xx only, counts tags, and logs and counts failures instead of throwing', async () => {
    const { kit, warnings } = kitWithLog()
    const cache = kit.cache('inv', { ttl: '1m' })
    await cache.set('a', 1, { tags: ['t:1'] })
    const tagsFor = (kind: string): string[] => {
      if (kind === 'throw') throw new Error('no tags today')
      return kind === 'none' ? [] : ['t:1', 't:2']
    }
    const core = new HttpInvalidation<[string]>(kit, tagsFor)
    core.after(404, 'tags')
    core.after(302, 'tags')
    core.after(200, 'none')
    core.after(204, 'tags')
    core.after(201, 'throw')
    await vi.waitFor(() => expect(counters(kit)).toEqual({ invalidations: 1, tags: 2, errors: 1 }))
    expect(await cache.get('a')).toBeUndefined()
    expect(warnings).toEqual([
      'redkit: invalidateOn could not invalidate tags after a mutation; entries carrying them stay until they expire',
    ])
  })

  it('lets kit.close() wait for invalidations still running', async () => {
    const { kit } = kitWithLog()
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const core = new HttpInvalidation<[]>(kit, async () => {
      await gate
      return ['late']
    })
    core.after(200)
    const closed = kit.close()
    let done = false
    void closed.then(() => {
      done = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(done).toBe(false)
    release()
    await closed
    expect(counters(kit).invalidations).toBe(1)
  })

  it('shares one set of counters between the invalidateOn middlewares of a kit', async () => {
    const { kit } = kitWithLog()
    const one = new HttpInvalidation<[]>(kit, () => ['a'])
    const two = new HttpInvalidation<[]>(kit, async () => ['b', 'c'])
    one.after(200)
    two.after(200)
    await kit.close()
    expect(counters(kit)).toEqual({ invalidations: 2, tags: 3, errors: 0 })
  })
})
