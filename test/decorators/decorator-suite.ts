// The decorator behaviour every store and both TypeScript decorator modes must give: run by memory.test.ts
// and redis.test.ts, once on services compiled with standard decorators and once with experimentalDecorators.

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import * as decorators from '../../src/decorators/index.js'
import { InvalidOptionsError, type Redkit } from '../../src/index.js'
import { waitFor } from '../harness/index.js'
import { compileFixture, type DecoratorMode, removeCompiledFixtures } from './compile-fixture.js'

type FixtureModule = typeof import('./fixtures/standard-services.js')
type EventService = InstanceType<ReturnType<FixtureModule['defineServices']>['EventService']>
type EventDb = InstanceType<FixtureModule['EventDb']>

export interface DecoratorSuiteSetup {
  kit: Redkit
  teardown(): Promise<void>
}

export function decoratorSuite(storeName: string, setup: () => Promise<DecoratorSuiteSetup>): void {
  describe(`decorators on ${storeName}`, () => {
    let kit: Redkit
    let teardown: (() => Promise<void>) | undefined
    beforeAll(async () => {
      ;({ kit, teardown } = await setup())
    }, 120_000)
    afterAll(async () => {
      await teardown?.()
      removeCompiledFixtures()
    })

    for (const mode of ['standard', 'legacy'] as const) modeSuite(mode, () => kit)
  })
}

function modeSuite(mode: DecoratorMode, currentKit: () => Redkit): void {
  describe(`${mode} decorators`, () => {
    let fixture: FixtureModule
    let javascript: string
    let diagnostics: string[]
    let Service: ReturnType<FixtureModule['defineServices']>['EventService']
    let namespace = ''
    let db: EventDb
    let service: EventService
    const cache = () => currentKit().cache(namespace)
    const event = (id: string, venueId = 'v1', title = `title of ${id}`) => {
      const created = { id, venueId, title }
      db.events.set(id, created)
      return created
    }
    const calls = (method: string) => db.calls[method] ?? 0

    beforeAll(async () => {
      ;({
        module: fixture,
        javascript,
        diagnostics,
      } = await compileFixture<FixtureModule>(`test/decorators/fixtures/${mode}-services.ts`, mode))
      // The cache is a function, resolved on each call: the class may be defined before the kit exists.
      Service = fixture.defineServices(decorators, () => cache()).EventService
    }, 60_000)
    beforeEach(() => {
      namespace = `d${randomUUID().slice(0, 8)}`
      db = new fixture.EventDb()
      service = new Service(db)
    })

    it(`was compiled by tsc in ${mode} mode, without type errors`, () => {
      expect(diagnostics).toEqual([])
      if (mode === 'standard') {
        expect(javascript).toContain('__esDecorate(')
        expect(javascript).not.toContain('__decorate(')
      } else {
        expect(javascript).toContain('__decorate(')
        expect(javascript).toContain('"design:paramtypes"')
        expect(javascript).not.toContain('__esDecorate(')
      }
      expect(javascript).not.toMatch(/^\s*@Cacheable/m)
    })

    it('a hit returns the cached value without calling the method; a miss calls it once', async () => {
      const created = event('e1')
      expect(await service.getEvent('e1')).toEqual(created)
      expect(await service.getEvent('e1')).toEqual(created)
      expect(calls('getEvent')).toBe(1)
      // The entry sits under the documented key, reachable by hand with a string or parts.
      expect(await cache().get('event:e1')).toEqual(created)
      expect(await cache().get(['event', 'e1'])).toEqual(created)
      expect(await service.getEvent('e2')).toBeUndefined()
      expect(await service.getEvent('e2')).toBeUndefined()
      expect(calls('getEvent')).toBe(3)
    })

    it('keeps `this`, works on static methods and methods without parameters', async () => {
      expect(await service.whoami()).toBe('service')
      expect(await service.whoami()).toBe('service')
      expect(calls('whoami')).toBe(1)
      const before = Service.squares
      expect(await Service.square(7)).toBe(49)
      expect(await Service.square(7)).toBe(49)
      expect(await Service.square(8)).toBe(64)
      expect(Service.squares - before).toBe(2)
    })

    it('a parameter by name and by position is the same key', async () => {
      const created = event('e1')
      await service.getEvent('e1')
      expect(await service.getEventByIndex('e1')).toEqual(created)
      expect(calls('getEventByIndex')).toBe(0)
    })

    it('50 concurrent calls for one key share one method call', async () => {
      const created = event('e1')
      db.hold()
      const all = Array.from({ length: 50 }, () => service.getEvent('e1'))
      await waitFor(() => calls('getEvent') >= 1, { message: 'the first call reached the method' })
      db.release()
      const results = await Promise.all(all)
      expect(results).toHaveLength(50)
      for (const result of results) expect(result).toEqual(created)
      expect(calls('getEvent')).toBe(1)
      expect(await service.getEvent('e1')).toEqual(created)
      expect(calls('getEvent')).toBe(1)
    })

    it('condition false calls straight through without reading or storing', async () => {
      expect(await service.search('ab')).toBe('ab#1')
      expect(await service.search('ab')).toBe('ab#2')
      expect(await cache().has(['search', 'ab'])).toBe(false)
      await cache().set(['search', 'xy'], 'planted')
      expect(await service.search('xy')).toBe('xy#3')
      expect(await service.search('abc')).toBe('abc#4')
      expect(await service.search('abc')).toBe('abc#4')
      expect(calls('search')).toBe(4)
    })

    it('unless true returns the result without storing it; other results are stored', async () => {
      const draft = { ...event('d1'), draft: true }
      db.events.set('d1', draft)
      expect(await service.getPublished('d1')).toEqual(draft)
      expect(await service.getPublished('d1')).toEqual(draft)
      expect(calls('getPublished')).toBe(2)
      expect(await cache().has(['published', 'd1'])).toBe(false)
      expect(await service.getPublished('missing')).toBeUndefined()
      expect(await cache().has(['published', 'missing'])).toBe(false)

      const published = event('p1')
      expect(await service.getPublished('p1')).toEqual(published)
      expect(await service.getPublished('p1')).toEqual(published)
      expect(calls('getPublished')).toBe(4)
      expect(await cache().get(['published', 'p1'])).toEqual(published)
    })

    it('with unless, concurrent calls for one key still share one method call', async () => {
      const published = event('p1')
      db.hold()
      const all = Array.from({ length: 50 }, () => service.getPublished('p1'))
      await waitFor(() => calls('getPublished') >= 1, { message: 'the first call reached the method' })
      db.release()
      for (const result of await Promise.all(all)) expect(result).toEqual(published)
      expect(calls('getPublished')).toBe(1)
      expect(await service.getPublished('p1')).toEqual(published)
      expect(calls('getPublished')).toBe(1)
    })

    it('CacheEvict by key deletes that entry after the method resolves', async () => {
      event('e1')
      event('e2')
      await service.getEvent('e1')
      await service.getEvent('e2')
      await service.rename('e1', 'renamed')
      expect((await service.getEvent('e1'))?.title).toBe('renamed')
      expect(await service.getEvent('e2')).toBeDefined()
      expect(calls('getEvent')).toBe(3)
    })

    it("ids with ':' or '*' are keys of their own: evicting one touches no other", async () => {
      for (const id of ['*', 'a:b', 'a', 'b', 'a*']) event(id)
      for (const id of ['*', 'a:b', 'a', 'b', 'a*']) await service.getEvent(id)
      expect(calls('getEvent')).toBe(5)
      await service.rename('*', 'star')
      await service.rename('a:b', 'colon')
      for (const id of ['a', 'b', 'a*']) await service.getEvent(id)
      expect(calls('getEvent')).toBe(5)
      expect((await service.getEvent('*'))?.title).toBe('star')
      expect((await service.getEvent('a:b'))?.title).toBe('colon')
      expect(calls('getEvent')).toBe(7)
      expect(await cache().has('event:a:b')).toBe(false)
      expect(await cache().has(['event', 'a:b'])).toBe(true)
    })

    it('CacheEvict by tags invalidates every entry carrying them, and only those', async () => {
      event('e1', 'v1')
      event('e2', 'v1')
      event('e3', 'v2')
      await service.getEvent('e1', 'v1')
      await service.getEvent('e2', 'v1')
      await service.getEvent('e3', 'v2')
      expect(await service.renameVenue('v1', '!')).toBe(2)
      expect((await service.getEvent('e1', 'v1'))?.title).toBe('title of e1!')
      expect((await service.getEvent('e2', 'v1'))?.title).toBe('title of e2!')
      await service.getEvent('e3', 'v2')
      expect(calls('getEvent')).toBe(5)
    })

    it('CacheEvict allEntries clears the whole cache, not other caches', async () => {
      event('e1')
      event('e2')
      await service.getEvent('e1')
      await service.getEvent('e2')
      const other = currentKit().cache(`${namespace}-other`)
      await other.set('kept', 1)
      await service.reset()
      expect(await cache().has(['event', 'e1'])).toBe(false)
      expect(await cache().has(['event', 'e2'])).toBe(false)
      expect(await other.get('kept')).toBe(1)
      await service.getEvent('e1')
      expect(calls('getEvent')).toBe(3)
    })

    it('beforeInvocation evicts even when the method throws; by default a throw evicts nothing', async () => {
      event('e1')
      event('e2')
      await service.getEvent('e1')
      await service.getEvent('e2')
      await expect(service.failAfterEvicting('e1')).rejects.toThrow('cannot change e1')
      expect(await cache().has(['event', 'e1'])).toBe(false)
      await expect(service.failBeforeEvicting('e2')).rejects.toThrow('cannot change e2')
      expect(await cache().has(['event', 'e2'])).toBe(true)
    })

    it('stacked CacheEvict decorators each evict, reading the parameters by name', async () => {
      event('e1', 'v1')
      event('e2', 'v1')
      await service.getEvent('e1', 'v1')
      await service.getEvent('e2', 'v1')
      await service.move('e1', 'v1', 'v2')
      expect(await cache().has(['event', 'e1'])).toBe(false)
      expect((await service.getEvent('e1', 'v2'))?.venueId).toBe('v2')
      await service.getEvent('e2', 'v1')
      // e2 was dropped by the tag of its old venue.
      expect(calls('getEvent')).toBe(4)
    })

    it('CachePut always runs the method and stores the result, keyed by the result', async () => {
      const created = await service.createEvent({ title: 'launch', venueId: 'v9' })
      expect(created.id).toMatch(/^evt-/)
      expect(await service.getEvent(created.id)).toEqual(created)
      expect(calls('getEvent')).toBe(0)
      // Tagged from the result: invalidating the venue drops it.
      await service.renameVenue('v9', '!')
      expect((await service.getEvent(created.id))?.title).toBe('launch!')
      expect(calls('getEvent')).toBe(1)
    })

    it('CachePut keyed by an argument field: stores, skips with unless, deletes on undefined', async () => {
      const original = event('e1')
      await service.getEvent('e1')
      const saved = { ...original, title: 'saved' }
      expect(await service.saveEvent(saved)).toEqual(saved)
      expect(await service.saveEvent(saved)).toEqual(saved)
      expect(calls('saveEvent')).toBe(2)
      expect(await service.getEvent('e1')).toEqual(saved)
      expect(calls('getEvent')).toBe(1)
      // A draft is not stored: the entry keeps what it had.
      expect(await service.saveEvent({ ...original, title: 'draft', draft: true })).toMatchObject({
        draft: true,
      })
      expect(await service.getEvent('e1')).toEqual(saved)
      // No value any more: the entry goes rather than keep a value the method no longer returns.
      expect(await service.saveEvent({ ...original, title: '' })).toBeUndefined()
      expect(await cache().has(['event', 'e1'])).toBe(false)
      expect(await service.getEvent('e1')).toBeUndefined()
      expect(calls('getEvent')).toBe(2)
    })

    it('nested templates key by fields; objects by stable JSON whatever their key order', async () => {
      event('e1', 'v1')
      event('e2', 'v2')
      const query = { venueId: 'v1', page: 1, sort: { field: 'title', order: 'asc' as const } }
      expect(await service.list(query)).toEqual(['e1'])
      const reordered = { sort: { order: 'asc' as const, field: 'title' }, page: 1, venueId: 'v1' }
      expect(await service.list(reordered)).toEqual(['e1'])
      expect(calls('list')).toBe(1)
      expect(await cache().get(['list', 'v1', 1, '{"field":"title","order":"asc"}'])).toEqual(['e1'])
      expect(await service.list({ ...query, page: 2 })).toEqual(['e1'])
      expect(await service.list({ ...query, venueId: 'v2' })).toEqual(['e2'])
      expect(calls('list')).toBe(3)
      // A destructured parameter is reachable by position: '{0.venueId}' is the same entry.
      expect(await service.listByIndex(reordered)).toEqual(['e1'])
      expect(calls('listByIndex')).toBe(0)
    })

    it('a template naming an unknown parameter fails when the class is defined', () => {
      const define = () => fixture.defineBroken(decorators, () => cache())
      expect(define).toThrow(InvalidOptionsError)
      expect(define).toThrow("'event:{eventId}'")
      expect(define).toThrow('getEvent')
      expect(define).toThrow('(id)')
    })
  })
}
