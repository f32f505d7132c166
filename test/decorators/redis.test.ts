// The decorator suite on a real redis-server, plus the keys the decorators write as Redis shows them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cacheable } from '../../src/decorators/index.js'
import { createRedkit } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers } from '../harness/index.js'
import { decoratorSuite } from './decorator-suite.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => stopAllServers())

decoratorSuite('RedisStore (single node)', async () => {
  const kit = createRedkit({ url: server.url, app: 'decorators' })
  return { kit, teardown: () => kit.close() }
})

describe('decorator keys in Redis', () => {
  it("stores under <prefix>cache:<namespace>:<template parts>, with ':' in values escaped", async () => {
    const kit = createRedkit({ url: server.url, app: 'shop' })
    const events = kit.cache('events')
    const getEvent = Cacheable({ cache: events, key: 'event:{id}' })(async (id: string) => ({ id }), {
      kind: 'method',
      name: 'getEvent',
      static: false,
      private: false,
    } as ClassMethodDecoratorContext)
    await getEvent.call(undefined, 'a:b')
    await getEvent.call(undefined, '42')
    expect(await server.cli('EXISTS', 'shop:cache:events:event:a%3Ab')).toBe('1')
    expect(await server.cli('EXISTS', 'shop:cache:events:event:42')).toBe('1')
    expect(await server.cli('EXISTS', 'shop:cache:events:event:a:b')).toBe('0')
    await kit.close()
  })
})
