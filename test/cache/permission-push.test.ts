// Permission push: a user's permissions change in one instance, and every instance's cached user
// context (L1 included) stops serving the old permissions within bus delivery.

import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'

interface UserContext {
  id: string
  roles: string[]
}

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => stopAllServers())

/** The pattern the docs show: user context cached with a per-user tag, L1 on, long ttl. */
function userContexts(kit: Redkit) {
  return kit.cache<UserContext>('userContext', { ttl: '5m', l1: { max: 10_000, ttl: '5m' } })
}

describe('permission push', () => {
  it('a role change in instance A reaches instance B’s L1 within bus delivery', async () => {
    const app = `rbac${randomUUID().slice(0, 6)}`
    // B trusts tag versions for an hour: only the bus can tell it about the change.
    const a = createRedkit({ url: server.url, app })
    const b = createRedkit({ url: server.url, app, tags: { trust: '1h' } })
    let roles = ['viewer']
    const load = async (id: string): Promise<UserContext> => ({ id, roles: [...roles] })
    const contextOf = (kit: Redkit, id: string) =>
      userContexts(kit).getOrSet(['user', id], () => load(id), { tags: [`user:${id}`] })

    expect((await contextOf(a, '42')).roles).toEqual(['viewer'])
    expect((await contextOf(b, '42')).roles).toEqual(['viewer']) // now held in B's L1
    expect((await contextOf(b, '7')).roles).toEqual(['viewer'])

    // The permission change: write the new roles, then push the invalidation.
    roles = ['viewer', 'admin']
    await a.invalidateTags(['user:42'])
    expect((await contextOf(a, '42')).roles).toEqual(['viewer', 'admin']) // read-your-writes in A
    await waitFor(async () => (await contextOf(b, '42')).roles.includes('admin'), {
      timeoutMs: 2000,
      message: 'B kept serving the old permissions',
    })
    // Another user's cached context is untouched (still the value cached before the change).
    expect((await contextOf(b, '7')).roles).toEqual(['viewer'])
    await Promise.all([a.close(), b.close()])
  })
})
