// How the Express middleware captures what handlers send (res.send, res.json, res.end, res.write,
// writeHead, binary bodies), what it lets through unstored, and which headers a hit replays.

import express, { type Express } from 'express'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { cacheResponse } from '../../src/integrations/express/index.js'
import { listenOn, waitFor } from '../harness/index.js'
import { until } from './test-apps.js'

const kit: Redkit = createRedkit({ url: 'memory', app: 'capture', environment: {} })
const closers: (() => Promise<void>)[] = []
let namespaces = 0

afterAll(async () => {
  for (const close of closers.splice(0)) await close()
  await kit.close()
})

function cache() {
  namespaces++
  return kit.cache(`capture-${namespaces}`, { ttl: '1m' })
}

async function listen(app: Express): Promise<string> {
  return listenOn(app, closers)
}

/** Two GETs: the first must miss, the second hit with the same status, type and body. */
async function missThenHit(url: string) {
  const miss = await fetch(url)
  const missBody = Buffer.from(await miss.arrayBuffer())
  expect(miss.headers.get('x-cache')).toBe('MISS')
  const hit = await fetch(url)
  const hitBody = Buffer.from(await hit.arrayBuffer())
  expect(hit.headers.get('x-cache')).toBe('HIT')
  expect(hit.status).toBe(miss.status)
  expect(hit.headers.get('content-type')).toBe(miss.headers.get('content-type'))
  expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'))
  expect(hitBody.equals(missBody)).toBe(true)
  return { miss, hit, body: hitBody }
}

describe('Express cacheResponse capture', () => {
  it('captures res.json, res.send (text and Buffer), res.end and streamed res.write bodies', async () => {
    const app = express()
    const pages = cache()
    const binary = Buffer.from([0, 255, 1, 254, 2, 253, 0x80])
    let runs = 0
    app.use((_req, _res, next) => {
      runs++
      next()
    })
    app.get('/json', cacheResponse(pages), (_req, res) => {
      res.json({ a: 1, text: 'é' })
    })
    app.get('/send', cacheResponse(pages), (_req, res) => {
      res.send('<p>hello</p>')
    })
    app.get('/buffer', cacheResponse(pages), (_req, res) => {
      res.type('application/octet-stream').send(binary)
    })
    app.get('/end', cacheResponse(pages), (_req, res) => {
      res.setHeader('content-type', 'text/plain')
      res.end('plain end')
    })
    app.get('/stream', cacheResponse(pages), (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' })
      res.write('a,b\n')
      setImmediate(() => {
        res.write(Buffer.from('1,2\n'))
        res.end('3,4\n')
      })
    })
    const base = await listen(app)

    const json = await missThenHit(`${base}/json`)
    expect(JSON.parse(json.body.toString())).toEqual({ a: 1, text: 'é' })
    expect(json.hit.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect((await missThenHit(`${base}/send`)).body.toString()).toBe('<p>hello</p>')
    expect((await missThenHit(`${base}/buffer`)).body.equals(binary)).toBe(true)
    expect((await missThenHit(`${base}/end`)).body.toString()).toBe('plain end')
    const stream = await missThenHit(`${base}/stream`)
    expect(stream.body.toString()).toBe('a,b\n1,2\n3,4\n')
    expect(stream.hit.headers.get('content-type')).toBe('text/csv')
    expect(stream.hit.headers.get('content-length')).toBe('12')
    expect(runs).toBe(10)
  })

  it('replays the headers the handler set, not those of earlier middleware', async () => {
    const app = express()
    let requestId = 0
    app.use((_req, res, next) => {
      requestId++
      res.setHeader('x-request-id', String(requestId))
      next()
    })
    app.get('/list', cacheResponse(cache()), (_req, res) => {
      res.set('x-total-count', '42').set('link', '</list?page=2>; rel="next"').json([1, 2])
    })
    const base = await listen(app)
    const { miss, hit } = await missThenHit(`${base}/list`)
    expect(miss.headers.get('x-request-id')).toBe('1')
    expect(hit.headers.get('x-request-id')).toBe('2')
    expect(hit.headers.get('x-total-count')).toBe('42')
    expect(hit.headers.get('link')).toBe('</list?page=2>; rel="next"')
  })

  it('keeps Vary set by earlier middleware, and does not store a Vary the key does not cover', async () => {
    const app = express()
    app.use((_req, res, next) => {
      res.vary('Origin')
      next()
    })
    let runs = 0
    app.get('/cors', cacheResponse(cache(), { vary: ['accept-language'] }), (_req, res) => {
      runs++
      res.json({ ok: true })
    })
    app.get('/by-agent', cacheResponse(cache()), (req, res) => {
      runs++
      res.vary('User-Agent').send(String(req.headers['user-agent']))
    })
    const base = await listen(app)
    const { hit } = await missThenHit(`${base}/cors`)
    expect(hit.headers.get('vary')).toBe('Origin, accept-language')
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${base}/by-agent`)
      expect(res.headers.get('x-cache')).toBe('MISS')
      await res.text()
    }
    expect(runs).toBe(3)
  })

  it('lets a body over maxBodySize, an event stream and a compressed body through unstored', async () => {
    const app = express()
    const pages = cache()
    let runs = 0
    app.use((_req, _res, next) => {
      runs++
      next()
    })
    app.get('/big', cacheResponse(pages, { maxBodySize: 10 }), (_req, res) => {
      res.write('0123456789')
      res.write('abcdef')
      res.end('!')
    })
    app.get('/events', cacheResponse(pages), (_req, res) => {
      res.setHeader('content-type', 'text/event-stream')
      res.write('data: one\n\n')
      // The first event must reach the client before the stream ends: nothing is held back.
      setTimeout(() => res.end('data: two\n\n'), 50).unref()
    })
    app.get('/gzipped', cacheResponse(pages), (_req, res) => {
      res.setHeader('content-encoding', 'identity-but-encoded')
      res.send('pretend compressed')
    })
    const base = await listen(app)
    for (let i = 0; i < 2; i++) {
      const big = await fetch(`${base}/big`)
      expect(big.headers.get('x-cache')).toBe('MISS')
      expect(await big.text()).toBe('0123456789abcdef!')
      const zipped = await fetch(`${base}/gzipped`)
      expect(zipped.headers.get('x-cache')).toBe('MISS')
      await zipped.text()
    }
    const events = await fetch(`${base}/events`)
    const reader = events.body!.getReader()
    const first = await reader.read()
    expect(Buffer.from(first.value!).toString()).toBe('data: one\n\n')
    while (!(await reader.read()).done) {}
    expect((await fetch(`${base}/events`)).headers.get('x-cache')).toBe('MISS')
    expect(runs).toBe(6)
  })

  it('releases waiting requests when the handler fails, and none of them is answered 5xx by the cache', async () => {
    const app = express()
    let runs = 0
    let arrivals = 0
    app.use((_req, _res, next) => {
      arrivals++
      next()
    })
    app.get('/flaky', cacheResponse(cache()), async (_req, res) => {
      runs++
      if (runs === 1) {
        await waitFor(() => arrivals >= 5)
        throw new Error('database down')
      }
      res.json({ runs })
    })
    const base = await listen(app)
    const responses = await Promise.all(Array.from({ length: 5 }, () => fetch(`${base}/flaky`)))
    const statuses = responses.map((res) => res.status).sort()
    // The failing run answers its own request 500; the four that waited on it ran the handler themselves.
    expect(statuses).toEqual([200, 200, 200, 200, 500])
    expect(runs).toBe(5)
  })

  it('releases waiting requests after waitTimeout when the handler takes too long', async () => {
    const app = express()
    let runs = 0
    let arrivals = 0
    let release: () => void = () => {}
    const slowRun = new Promise<void>((resolve) => {
      release = resolve
    })
    app.use((_req, _res, next) => {
      arrivals++
      next()
    })
    app.get('/hang', cacheResponse(cache(), { waitTimeout: 100 }), async (_req, res) => {
      runs++
      if (runs === 1) await slowRun
      res.json({ runs })
    })
    const base = await listen(app)
    const first = fetch(`${base}/hang`)
    await waitFor(() => runs === 1)
    const waiter = await fetch(`${base}/hang`)
    expect(waiter.status).toBe(200)
    expect(await waiter.json()).toEqual({ runs: 2 })
    release()
    expect((await first).status).toBe(200)
    expect(arrivals).toBe(2)
  })

  it('releases waiting requests when the client of the running one goes away', async () => {
    const app = express()
    let runs = 0
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    app.get('/gone', cacheResponse(cache()), async (_req, res) => {
      runs++
      if (runs === 1) await gate
      res.json({ runs })
    })
    const base = await listen(app)
    const aborter = new AbortController()
    const abandoned = fetch(`${base}/gone`, { signal: aborter.signal }).catch(() => 'aborted')
    await waitFor(() => runs === 1)
    const waiter = fetch(`${base}/gone`)
    aborter.abort()
    expect(await abandoned).toBe('aborted')
    const res = await waiter
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ runs: 2 })
    release()
  })

  it('passes misconfiguration to the error handler, and skips what skip says', async () => {
    const app = express()
    let runs = 0
    app.get(
      '/bad-tags',
      cacheResponse(cache(), { tags: () => 'vendor:1' as unknown as string[] }),
      (_req, res) => {
        res.json({ ok: true })
      },
    )
    app.get('/skipped', cacheResponse(cache(), { skip: (req) => req.query.fresh === '1' }), (_req, res) => {
      runs++
      res.json({ runs })
    })
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: error.message })
    })
    const base = await listen(app)
    const bad = await fetch(`${base}/bad-tags`)
    expect(bad.status).toBe(500)
    expect(((await bad.json()) as { error: string }).error).toMatch(/tags\(req\) must return an array/)
    expect((await fetch(`${base}/skipped`)).headers.get('x-cache')).toBe('MISS')
    expect((await fetch(`${base}/skipped`)).headers.get('x-cache')).toBe('HIT')
    const skipped = await fetch(`${base}/skipped?fresh=1`)
    expect(skipped.headers.get('x-cache')).toBeNull()
    expect(await skipped.json()).toEqual({ runs: 2 })
  })

  it('honours an invalidation after a soft timeout answered with the last value while the handler ran on', async () => {
    const app = express()
    const pages = kit.cache('capture-soft', { ttl: 100, grace: '1m', softTimeout: 20 })
    let version = 0
    app.get('/soft', cacheResponse(pages, { tags: () => ['soft'] }), async (_req, res) => {
      version++
      // Slower than softTimeout: the cache answers with the last value while this run goes on.
      if (version === 2) await new Promise((resolve) => setTimeout(resolve, 80))
      res.json({ version })
    })
    const base = await listen(app)
    expect((await fetch(`${base}/soft`)).headers.get('x-cache')).toBe('MISS')
    await until(async () => {
      const res = await fetch(`${base}/soft`)
      return ((await res.json()) as { version: number }).version === 2 ? true : undefined
    }, 'the entry never expired')
    const sets = () => (kit.metrics().cache as Record<string, { sets: number }>)['capture-soft']!.sets
    await until(async () => (sets() === 2 ? true : undefined), 'the second response was not stored')
    await kit.invalidateTags(['soft'])
    const after = await fetch(`${base}/soft`)
    expect(after.headers.get('x-cache')).toBe('MISS')
    expect(await after.json()).toEqual({ version: 3 })
  })

  it('refreshes a stale entry after serving it, with the headers the refreshing run set', async () => {
    const app = express()
    const pages = kit.cache('capture-stale', { ttl: 300, swr: '1m', l1: { max: 10 } })
    let version = 0
    app.get('/stale', cacheResponse(pages), (_req, res) => {
      version++
      res.set('x-version', String(version)).status(200).json({ version })
    })
    const base = await listen(app)
    expect((await fetch(`${base}/stale`)).headers.get('x-cache')).toBe('MISS')
    const stale = await until(async () => {
      const res = await fetch(`${base}/stale`)
      await res.arrayBuffer()
      return res.headers.get('x-cache') === 'STALE' ? res : undefined
    }, 'never stale')
    expect(stale.headers.get('x-version')).toBe('1')
    const fresh = await until(async () => {
      const res = await fetch(`${base}/stale`)
      const body = (await res.json()) as { version: number }
      return res.headers.get('x-cache') === 'HIT' && body.version === 2 ? res : undefined
    }, 'never refreshed')
    expect(fresh.headers.get('x-version')).toBe('2')
    expect(fresh.headers.get('etag')).toMatch(/^"/)
  })
})
