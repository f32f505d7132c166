// The HTTP response cache suite: cacheResponse and invalidateOn over real HTTP, run for Express and
// Fastify on every store (memory, redis-server). Each test builds its own app, cache and routes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CacheOptions, Redkit } from '../../src/index.js'
import { waitFor } from '../harness/index.js'
import { type Framework, type TestRequest, until } from './test-apps.js'

export interface SuiteSetup {
  /** A kit on the store under test. */
  kit: Redkit
  /** Another kit (another "instance" of the app) on the same store, for cross-instance tests; none in memory. */
  peer?: Redkit
  teardown(): Promise<void>
}

let namespaces = 0
function namespace(): string {
  namespaces++
  return `pages-${namespaces}`
}

function product(id: string, version = 1) {
  return { id, version, name: `Product ${id}`, tags: ['a', 'b'] }
}

export function httpCacheSuite(
  title: string,
  framework: () => Framework,
  setup: () => Promise<SuiteSetup>,
  options: { peers: boolean },
): void {
  describe(title, () => {
    let env: SuiteSetup
    let apps: Framework
    beforeAll(async () => {
      env = await setup()
      apps = framework()
    })
    afterAll(async () => {
      await apps?.closeAll()
      await env?.teardown()
    })

    function start(routes: Parameters<Framework['serve']>[0]) {
      return apps.serve(routes)
    }

    it('misses, then hits with the same body, a strong ETag and the handler run once', async () => {
      let runs = 0
      const cache = env.kit.cache(namespace(), { ttl: '1m' })
      const { url } = await start((app) =>
        app.cached('/products/:id', cache, {}, (req) => {
          runs++
          return { body: product(req.params.id!) }
        }),
      )
      const first = await fetch(`${url}/products/7`)
      expect(first.status).toBe(200)
      expect(first.headers.get('x-cache')).toBe('MISS')
      expect(first.headers.get('content-type')).toMatch(/^application\/json/)
      const etag = first.headers.get('etag')
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/)
      expect(await first.json()).toEqual(product('7'))

      const second = await fetch(`${url}/products/7`)
      expect(second.headers.get('x-cache')).toBe('HIT')
      expect(second.headers.get('etag')).toBe(etag)
      expect(second.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await second.json()).toEqual(product('7'))
      expect(runs).toBe(1)

      expect((await fetch(`${url}/products/8`)).headers.get('x-cache')).toBe('MISS')
      expect(runs).toBe(2)
    })

    it('answers HEAD from the entry a GET stored, and a HEAD miss stores the entry for GET', async () => {
      let runs = 0
      const cache = env.kit.cache(namespace(), { ttl: '1m' })
      const { url } = await start((app) =>
        app.cached('/text/:id', cache, {}, (req) => {
          runs++
          return { body: `text of ${req.params.id}` }
        }),
      )
      const get = await fetch(`${url}/text/1`)
      const body = await get.text()
      const head = await fetch(`${url}/text/1`, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.headers.get('x-cache')).toBe('HIT')
      expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)))
      expect(head.headers.get('etag')).toBe(get.headers.get('etag'))
      expect(await head.text()).toBe('')
      expect(runs).toBe(1)

      const coldHead = await fetch(`${url}/text/2`, { method: 'HEAD' })
      expect(coldHead.headers.get('x-cache')).toBe('MISS')
      expect(await coldHead.text()).toBe('')
      const afterHead = await fetch(`${url}/text/2`)
      expect(afterHead.headers.get('x-cache')).toBe('HIT')
      expect(await afterHead.text()).toBe('text of 2')
      expect(afterHead.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(runs).toBe(2)
    })

    it('answers If-None-Match with 304 and no body, on hits and on misses', async () => {
      let runs = 0
      const cache = env.kit.cache(namespace(), { ttl: '1m', tier: 'list' })
      const { url } = await start((app) =>
        app.cached('/same', cache, {}, () => {
          runs++
          return { body: { same: true } }
        }),
      )
      const first = await fetch(`${url}/same?v=1`)
      const etag = first.headers.get('etag')!
      const hit = await fetch(`${url}/same?v=1`, { headers: { 'if-none-match': etag } })
      expect(hit.status).toBe(304)
      expect(hit.headers.get('x-cache')).toBe('HIT')
      expect(hit.headers.get('etag')).toBe(etag)
      expect(hit.headers.get('cache-control')).toBe('private, max-age=30')
      expect(await hit.text()).toBe('')
      // Weak comparison, in a list.
      const weak = await fetch(`${url}/same?v=1`, { headers: { 'if-none-match': `"other", W/${etag}` } })
      expect(weak.status).toBe(304)
      const changed = await fetch(`${url}/same?v=1`, { headers: { 'if-none-match': '"other"' } })
      expect(changed.status).toBe(200)
      expect(await changed.json()).toEqual({ same: true })

      // Another key with the same body: a miss, and the client's copy is still the current one.
      const miss = await fetch(`${url}/same?v=2`, { headers: { 'if-none-match': etag } })
      expect(miss.status).toBe(304)
      expect(miss.headers.get('x-cache')).toBe('MISS')
      expect(miss.headers.get('etag')).toBe(etag)
      expect(await miss.text()).toBe('')
      expect(runs).toBe(2)
      expect((await fetch(`${url}/same?v=2`)).headers.get('x-cache')).toBe('HIT')
    })

    it("sends the cache tier's Cache-Control, the option's instead, or the handler's own", async () => {
      const reference = env.kit.cache(namespace(), { tier: 'reference' })
      const list = env.kit.cache(namespace(), { tier: 'list' })
      const { url } = await start((app) => {
        app.cached('/reference', reference, {}, () => ({ body: 'zones' }))
        app.cached('/list', list, {}, () => ({ body: 'orders' }))
        app.cached('/override', list, { cacheControl: 'public, max-age=5' }, () => ({ body: 'o' }))
        app.cached('/none', list, { cacheControl: false }, () => ({ body: 'n' }))
        app.cached('/handler', list, {}, () => ({ body: 'h', headers: { 'cache-control': 'max-age=1' } }))
      })
      for (const attempt of ['MISS', 'HIT']) {
        const ref = await fetch(`${url}/reference`)
        expect(ref.headers.get('x-cache')).toBe(attempt)
        expect(ref.headers.get('cache-control')).toBe('private, max-age=300, stale-while-revalidate=86400')
        const orders = await fetch(`${url}/list`)
        expect(orders.headers.get('cache-control')).toBe('private, max-age=30')
        expect((await fetch(`${url}/override`)).headers.get('cache-control')).toBe('public, max-age=5')
        expect((await fetch(`${url}/none`)).headers.get('cache-control')).toBeNull()
        const handler = await fetch(`${url}/handler`)
        expect(handler.headers.get('x-cache')).toBe(attempt)
        expect(handler.headers.get('cache-control')).toBe('max-age=1')
      }
    })

    it('serves a stale entry within swr as STALE at once, then the refreshed one as HIT', async () => {
      let version = 0
      const cache = env.kit.cache(namespace(), { ttl: 300, swr: '1m' })
      const { url } = await start((app) =>
        app.cached('/live', cache, {}, () => {
          version++
          return { body: { version } }
        }),
      )
      const first = await fetch(`${url}/live`)
      expect(first.headers.get('x-cache')).toBe('MISS')
      expect(await first.json()).toEqual({ version: 1 })
      // Hits until the entry turns stale; the first stale read gets the old body and starts a refresh.
      const stale = await until(async () => {
        const res = await fetch(`${url}/live`)
        const body = (await res.json()) as { version: number }
        return res.headers.get('x-cache') === 'STALE' ? { res, body } : undefined
      }, 'the entry never turned stale')
      expect(stale.body).toEqual({ version: 1 })
      expect(stale.res.headers.get('etag')).toBe(first.headers.get('etag'))
      const refreshed = await until(async () => {
        const res = await fetch(`${url}/live`)
        const body = (await res.json()) as { version: number }
        return res.headers.get('x-cache') === 'HIT' && body.version === 2 ? res : undefined
      }, 'the stale entry was never refreshed')
      expect(refreshed.headers.get('etag')).not.toBe(first.headers.get('etag'))
      expect(version).toBe(2)
    })

    it('treats queries with the same parameters in another order as one entry', async () => {
      let runs = 0
      const cache = env.kit.cache(namespace(), { ttl: '1m' })
      const { url } = await start((app) =>
        app.cached('/search', cache, {}, (req) => {
          runs++
          return { body: { url: req.url } }
        }),
      )
      expect((await fetch(`${url}/search?b=2&a=1`)).headers.get('x-cache')).toBe('MISS')
      expect((await fetch(`${url}/search?a=1&b=2`)).headers.get('x-cache')).toBe('HIT')
      expect((await fetch(`${url}/search?a=%31&b=2`)).headers.get('x-cache')).toBe('HIT')
      expect((await fetch(`${url}/search?a=1&b=3`)).headers.get('x-cache')).toBe('MISS')
      // Repeated names keep their order: a list may be ordered.
      expect((await fetch(`${url}/search?t=x&t=y`)).headers.get('x-cache')).toBe('MISS')
      expect((await fetch(`${url}/search?t=y&t=x`)).headers.get('x-cache')).toBe('MISS')
      expect((await fetch(`${url}/search`)).headers.get('x-cache')).toBe('MISS')
      expect(runs).toBe(5)
    })

    it('keeps one entry per value of a vary header, and says so in Vary', async () => {
      let runs = 0
      const cache = env.kit.cache(namespace(), { ttl: '1m' })
      const { url } = await start((app) =>
        app.cached('/greeting', cache, { vary: ['Accept-Language'] }, (req) => {
          runs++
          return { body: req.headers['accept-language'] === 'fr' ? 'bonjour' : 'hello' }
        }),
      )
      const ask = (language: string) => fetch(`${url}/greeting`, { headers: { 'accept-language': language } })
      const en = await ask('en')
      expect(en.headers.get('x-cache')).toBe('MISS')
      expect(en.headers.get('vary')).toMatch(/accept-language/i)
      expect(await en.text()).toBe('hello')
      const fr = await ask('fr')
      expect(fr.headers.get('x-cache')).toBe('MISS')
      expect(await fr.text()).toBe('bonjour')
      const enAgain = await ask('en')
      expect(enAgain.headers.get('x-cache')).toBe('HIT')
      expect(enAgain.headers.get('vary')).toMatch(/accept-language/i)
      expect(await enAgain.text()).toBe('hello')
      expect(await (await ask('fr')).text()).toBe('bonjour')
      expect(runs).toBe(2)
    })

    it('never shows a user another user’s response, and bypasses authenticated requests without a key', async () => {
      let runs = 0
      const scoped = env.kit.cache(namespace(), { ttl: '1m' })
      const handler = (req: TestRequest) => {
        runs++
        return { body: { for: req.headers.authorization ?? req.headers['x-test-user'] ?? 'anonymous' } }
      }
      const userOf = (req: TestRequest) => {
        const auth = req.headers.authorization
        return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined
      }
      const { url } = await start((app) => {
        app.cached('/me', scoped, { key: userOf }, handler)
        app.cached('/feed', scoped, {}, handler)
        app.cached('/catalog', scoped, { shared: true }, handler)
      })
      const as = (path: string, headers: Record<string, string>) => fetch(`${url}${path}`, { headers })

      const alice = await as('/me', { authorization: 'Bearer alice' })
      expect(alice.headers.get('x-cache')).toBe('MISS')
      expect(await alice.json()).toEqual({ for: 'Bearer alice' })
      const bob = await as('/me', { authorization: 'Bearer bob' })
      expect(bob.headers.get('x-cache')).toBe('MISS')
      expect(await bob.json()).toEqual({ for: 'Bearer bob' })
      const aliceAgain = await as('/me', { authorization: 'Bearer alice' })
      expect(aliceAgain.headers.get('x-cache')).toBe('HIT')
      expect(await aliceAgain.json()).toEqual({ for: 'Bearer alice' })
      expect(await (await as('/me', { authorization: 'Bearer bob' })).json()).toEqual({ for: 'Bearer bob' })
      expect(runs).toBe(2)

      // No key: Authorization, a session cookie or req.user bypass; other cookies do not.
      runs = 0
      const authenticated: Record<string, string>[] = [
        { authorization: 'Bearer alice' },
        { cookie: 'theme=dark; connect.sid=s%3Aabc' },
        { cookie: '__Host-sid=xyz' },
        { 'x-test-user': 'carol' },
      ]
      for (const headers of authenticated) {
        for (let i = 0; i < 2; i++) {
          const res = await as('/feed', headers)
          expect(res.headers.get('x-cache')).toBe('BYPASS')
          expect(res.headers.get('etag') ?? '').not.toMatch(/^"[A-Za-z0-9_-]{27}"$/)
        }
      }
      expect(runs).toBe(8)
      const anonymous = await as('/feed', { cookie: '_ga=GA1.2; theme=dark' })
      expect(anonymous.headers.get('x-cache')).toBe('MISS')
      expect(await anonymous.json()).toEqual({ for: 'anonymous' })
      expect((await as('/feed', {})).headers.get('x-cache')).toBe('HIT')
      expect(runs).toBe(9)
      // An anonymous entry is never served to an authenticated request either.
      expect((await as('/feed', { authorization: 'Bearer alice' })).headers.get('x-cache')).toBe('BYPASS')

      // shared: one entry whoever asks.
      expect((await as('/catalog', { authorization: 'Bearer alice' })).headers.get('x-cache')).toBe('MISS')
      const shared = await as('/catalog', { authorization: 'Bearer bob' })
      expect(shared.headers.get('x-cache')).toBe('HIT')
      expect(await shared.json()).toEqual({ for: 'Bearer alice' })
    })

    it('does not store non-2xx responses, Set-Cookie, no-store, or private on a shared entry', async () => {
      const runs: Record<string, number> = {}
      const cache = env.kit.cache(namespace(), { ttl: '1m' })
      const count = (name: string) => {
        runs[name] = (runs[name] ?? 0) + 1
      }
      const { url } = await start((app) => {
        app.cached('/missing', cache, {}, () => {
          count('missing')
          return { status: 404, body: { error: 'not found' } }
        })
        app.cached('/broken', cache, {}, () => {
          count('broken')
          return { status: 500, body: { error: 'boom' } }
        })
        app.cached('/cookie', cache, {}, () => {
          count('cookie')
          return { body: 'hi', headers: { 'set-cookie': 'visited=1' } }
        })
        app.cached('/no-store', cache, {}, () => {
          count('no-store')
          return { body: 'secret', headers: { 'cache-control': 'no-store' } }
        })
        app.cached('/private', cache, {}, () => {
          count('private')
          return { body: 'mine', headers: { 'cache-control': 'private, max-age=10' } }
        })
        app.cached('/private-scoped', cache, { key: (req) => req.headers['x-tenant'] as string }, () => {
          count('private-scoped')
          return { body: 'tenant', headers: { 'cache-control': 'private, max-age=10' } }
        })
        app.cached('/created', cache, {}, () => {
          count('created')
          return { status: 201, body: 'made' }
        })
      })
      for (const path of ['missing', 'broken', 'cookie', 'no-store', 'private', 'created']) {
        for (let i = 0; i < 2; i++) {
          const res = await fetch(`${url}/${path}`)
          expect(res.headers.get('x-cache'), path).toBe('MISS')
          await res.arrayBuffer()
        }
        expect(runs[path], path).toBe(2)
      }
      expect((await fetch(`${url}/missing`)).status).toBe(404)
      expect((await fetch(`${url}/cookie`)).headers.get('set-cookie')).toBe('visited=1')
      const tenant = { headers: { 'x-tenant': 't1' } }
      expect((await fetch(`${url}/private-scoped`, tenant)).headers.get('x-cache')).toBe('MISS')
      const again = await fetch(`${url}/private-scoped`, tenant)
      expect(again.headers.get('x-cache')).toBe('HIT')
      expect(again.headers.get('cache-control')).toBe('private, max-age=10')
      expect(runs['private-scoped']).toBe(1)
    })

    it('stores a 204 and answers it again without a body', async () => {
      let runs = 0
      const cache = env.kit.cache(namespace(), { ttl: '1m' })
      const { url } = await start((app) =>
        app.cached('/empty', cache, {}, () => {
          runs++
          return { status: 204, body: '' }
        }),
      )
      for (const expected of ['MISS', 'HIT']) {
        const res = await fetch(`${url}/empty`)
        expect(res.status).toBe(204)
        expect(res.headers.get('x-cache')).toBe(expected)
        expect(res.headers.get('content-length')).toBeNull()
        expect(await res.text()).toBe('')
      }
      expect(runs).toBe(1)
    })

    it('runs the handler once for 100 concurrent requests of a missing entry', async () => {
      let runs = 0
      const cache = env.kit.cache(namespace(), { ttl: '1m' })
      const server = await start((app) =>
        app.cached('/slow', cache, {}, async () => {
          runs++
          // Answer only once every request has reached the server: they all wait on this one run.
          await waitFor(() => server.arrivals() >= 100, { message: 'requests did not all arrive' })
          return { body: { slow: true, at: Date.now() } }
        }),
      )
      const responses = await Promise.all(Array.from({ length: 100 }, () => fetch(`${server.url}/slow`)))
      const bodies = await Promise.all(responses.map((res) => res.text()))
      expect(runs).toBe(1)
      expect(responses.every((res) => res.status === 200)).toBe(true)
      expect(new Set(bodies).size).toBe(1)
      expect(responses.filter((res) => res.headers.get('x-cache') === 'MISS')).toHaveLength(100)
      expect((await fetch(`${server.url}/slow`)).headers.get('x-cache')).toBe('HIT')
      expect(runs).toBe(1)
    })

    it('invalidates the tags of a mutation answered with 2xx, after the response, and counts it', async () => {
      let runs = 0
      const cache = env.kit.cache(namespace(), { ttl: '1m', l1: { max: 100 } })
      const invalidations = () =>
        (env.kit.metrics().http as { invalidateOn: { invalidations: number; tags: number } }).invalidateOn
      const { url } = await start((app) => {
        app.cached(
          '/vendors/:vendorId/products',
          cache,
          { tags: (req) => [`vendor:${req.params.vendorId}`] },
          (req) => {
            runs++
            return { body: { vendor: req.params.vendorId, runs } }
          },
        )
        app.mutation(
          '/vendors/:vendorId/products',
          env.kit,
          (req) => [`vendor:${req.params.vendorId}`],
          (req) => ({ status: req.headers['x-fail'] ? 422 : 201, body: { created: true } }),
        )
      })
      const list = (vendor: string) => fetch(`${url}/vendors/${vendor}/products`)
      expect((await list('1')).headers.get('x-cache')).toBe('MISS')
      expect((await list('2')).headers.get('x-cache')).toBe('MISS')
      expect((await list('1')).headers.get('x-cache')).toBe('HIT')
      const start0 = invalidations().invalidations

      const refused = await fetch(`${url}/vendors/1/products`, { method: 'POST', headers: { 'x-fail': '1' } })
      expect(refused.status).toBe(422)
      await refused.arrayBuffer()
      expect((await list('1')).headers.get('x-cache')).toBe('HIT')

      const created = await fetch(`${url}/vendors/1/products`, { method: 'POST' })
      expect(created.status).toBe(201)
      await created.arrayBuffer()
      await waitFor(() => invalidations().invalidations === start0 + 1, { message: 'no invalidation' })
      const after = await list('1')
      expect(after.headers.get('x-cache')).toBe('MISS')
      expect(await after.json()).toEqual({ vendor: '1', runs: 3 })
      expect((await list('2')).headers.get('x-cache')).toBe('HIT')
      expect(invalidations().invalidations).toBe(start0 + 1)
    })

    if (options.peers) {
      it('a mutation on one instance makes the next GET on another instance miss', async () => {
        if (env.peer === undefined) throw new Error('this store was announced with a peer instance')
        const ns = namespace()
        const cacheOptions: CacheOptions = { ttl: '1m', l1: { max: 100 } }
        let runsOnB = 0
        const b = await apps.serve((app) =>
          app.cached('/orders', env.peer!.cache(ns, cacheOptions), { tags: () => ['orders'] }, () => {
            runsOnB++
            return { body: { runsOnB } }
          }),
        )
        const a = await apps.serve((app) =>
          app.mutation(
            '/orders',
            env.kit,
            () => ['orders'],
            () => ({ status: 201, body: 'ok' }),
          ),
        )
        expect((await fetch(`${b.url}/orders`)).headers.get('x-cache')).toBe('MISS')
        expect((await fetch(`${b.url}/orders`)).headers.get('x-cache')).toBe('HIT')
        const created = await fetch(`${a.url}/orders`, { method: 'POST' })
        expect(created.status).toBe(201)
        await created.arrayBuffer()
        const next = await until(async () => {
          const res = await fetch(`${b.url}/orders`)
          return res.headers.get('x-cache') === 'MISS' ? res : undefined
        }, 'B kept serving the entry invalidated on A')
        expect(await next.json()).toEqual({ runsOnB: 2 })
      })
    }
  })
}
