import { describe, expectTypeOf, it } from 'vitest'
import {
  Cacheable,
  type CacheableOptions,
  CacheEvict,
  type CacheEvictOptions,
  type CacheMethodDecorator,
  CachePut,
  type CachePutOptions,
  type CacheSource,
  type KeyOption,
  type TagsOption,
} from '../../src/decorators/index.js'
import { type Cache, type CacheKey, createRedkit, type Duration, type Redkit } from '../../src/index.js'

interface Event {
  id: string
  venueId: string
  draft: boolean
}

const kit = createRedkit()
const events = kit.cache<Event>('events')

describe('decorator types', () => {
  it('decorate async methods, instance and static, in standard mode', () => {
    class EventService {
      constructor(readonly kit: Redkit) {}

      @Cacheable({ cache: events, key: 'event:{id}', ttl: '10m', tags: ['venue:{venueId}'] })
      async getEvent(id: string, venueId: string): Promise<Event> {
        return { id, venueId, draft: false }
      }

      @Cacheable({ cache: () => kit.cache('events'), key: 'count' })
      static async count(): Promise<number> {
        return 1
      }

      @CacheEvict({ cache: events, key: 'event:{id}', tags: ['venue:{venueId}'], beforeInvocation: true })
      async update(id: string, venueId: string): Promise<void> {
        void [id, venueId]
      }

      @CacheEvict({ cache: events, allEntries: true })
      @CacheEvict({ cache: () => kit.cache('lists'), allEntries: true })
      async reset(): Promise<void> {}

      @CachePut({ cache: (service: EventService) => service.kit.cache('events'), key: 'event:{$result.id}' })
      async create(venueId: string): Promise<Event> {
        return { id: 'x', venueId, draft: false }
      }
    }
    // The decorated method keeps its type.
    expectTypeOf<EventService['getEvent']>().toEqualTypeOf<(id: string, venueId: string) => Promise<Event>>()
    expectTypeOf(EventService.count).returns.resolves.toBeNumber()
  })

  it('type condition, unless, key and tags functions from the arguments and result', () => {
    class EventService {
      @Cacheable({
        cache: events,
        key: (id: string) => ['event', id],
        tags: (id: string) => [`event:${id}`],
        condition: (id: string) => id !== '',
        unless: (event: Event, id: string) => event.draft || id === 'preview',
      })
      async getEvent(id: string, _preview?: boolean): Promise<Event> {
        return { id, venueId: 'v', draft: false }
      }
    }
    void EventService
    Cacheable<[id: string], Event>({
      cache: events,
      key: 'event:{id}',
      condition: (id) => {
        expectTypeOf(id).toBeString()
        return true
      },
      unless: (event, id) => {
        expectTypeOf(event).toEqualTypeOf<Event>()
        expectTypeOf(id).toBeString()
        return false
      },
    })
  })

  it('refuse sync methods and methods that do not fit the typed arguments or result', () => {
    class Wrong {
      // @ts-expect-error a sync method: the decorated method returns a Promise
      @Cacheable({ cache: events, key: 'n' })
      count(): number {
        return 1
      }

      // @ts-expect-error the decorator is typed for a string id
      @Cacheable<[id: string], Event>({ cache: events, key: 'event:{id}' })
      async byNumber(id: number): Promise<Event> {
        return { id: String(id), venueId: 'v', draft: false }
      }

      // @ts-expect-error unless expects an Event result
      @CachePut({ cache: events, key: 'n', unless: (event: Event) => event.draft })
      async save(): Promise<number> {
        return 1
      }
    }
    void Wrong
  })

  it('accept the legacy (experimentalDecorators) call shape', () => {
    class Service {
      async getEvent(id: string): Promise<Event> {
        return { id, venueId: 'v', draft: false }
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(
      Service.prototype,
      'getEvent',
    ) as TypedPropertyDescriptor<Service['getEvent']>
    const decorate = Cacheable({ cache: events, key: 'event:{id}' })
    expectTypeOf(decorate(Service.prototype, 'getEvent', descriptor)).toEqualTypeOf<
      TypedPropertyDescriptor<(this: Service, id: string) => Promise<Event>>
    >()
    const sync = Object.getOwnPropertyDescriptor({ n: () => 1 }, 'n') as TypedPropertyDescriptor<() => number>
    // @ts-expect-error a sync method in legacy mode too
    decorate({}, 'n', sync)
    expectTypeOf(decorate).toEqualTypeOf<CacheMethodDecorator<unknown[], unknown>>()
  })

  it('options: caches of any value type, or functions returning them; keys and tags', () => {
    expectTypeOf(events).toExtend<CacheSource>()
    expectTypeOf<() => Cache<Event>>().toExtend<CacheSource>()
    expectTypeOf<(service: { kit: Redkit }) => Cache<Event>>().toExtend<CacheSource>()
    expectTypeOf<'event:{id}'>().toExtend<KeyOption<[string]>>()
    expectTypeOf<(id: string) => CacheKey>().toExtend<KeyOption<[string]>>()
    expectTypeOf<string[]>().toExtend<TagsOption<[string]>>()
    expectTypeOf<(id: string) => string[]>().toExtend<TagsOption<[string]>>()
    expectTypeOf<CacheableOptions['ttl']>().toEqualTypeOf<Duration | undefined>()
    expectTypeOf<CacheEvictOptions['allEntries']>().toEqualTypeOf<boolean | undefined>()
    expectTypeOf<CachePutOptions['cacheNullish']>().toEqualTypeOf<boolean | undefined>()
    expectTypeOf(events.invalidateTags).parameter(0).toEqualTypeOf<readonly string[]>()
    expectTypeOf(events.invalidateTags(['x'])).resolves.toBeVoid()
    // @ts-expect-error key is required
    Cacheable({ cache: events })
    // @ts-expect-error not a cache
    Cacheable({ cache: 'events', key: 'x' })
  })
})
