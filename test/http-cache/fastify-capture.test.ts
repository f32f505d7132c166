// What the Fastify hooks capture (serialized JSON, strings, Buffers) and let through (streams), which
// headers a hit replays, and that the refresh marker header cannot be forged by a client.

import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { cacheResponse } from '../../src/integrations/fastify/index.js'

const kit: Redkit = createRedkit({ url: 'memory', app: 'fcapture', environment: {} })
const apps: FastifyInstance[] = []
let namespaces = 0

afterAll(async () => {
  for (const app of apps.splice(0)) await app.close()
  await kit.close()
})

function cache() {
  namespaces++
  return kit.cache(`fcapture-${namespaces}`, { ttl: '1m' })
}

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return `http://127.0.0.1:${address.port}`
}

describe('Fastify cacheResponse hooks', () => {
  it('stores strings and Buffers, replays handler headers but not those of earlier hooks, and skips streams', async () => {
    const app = Fastify()
    let requestId = 0
    let runs = 0
    app.addHook('onRequest', async (_request, reply) => {
      requestId++
      runs++
      reply.header('x-request-id', String(requestId))
    })
    const binary = Buffer.from([0, 200, 1, 201])
    app.get('/text', cacheResponse(cache()), async (_request, reply) => {
      reply.header('x-total-count', '3').type('text/plain; charset=utf-8')
      return 'three'
    })
    app.get('/bytes', cacheResponse(cache()), async (_request, reply) => {
      reply.type('application/octet-stream')
      return binary
    })
    app.get('/stream', cacheResponse(cache()), async (_request, reply) => {
      reply.type('text/plain')
      return reply.send(Readable.from(['a', 'b']))
    })
    const base = await listen(app)

    const miss = await fetch(`${base}/text`)
    expect(miss.headers.get('x-cache')).toBe('MISS')
    expect(await miss.text()).toBe('three')
    const hit = await fetch(`${base}/text`)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(hit.headers.get('x-total-count')).toBe('3')
    expect(hit.headers.get('x-request-id')).toBe('2')
    expect(hit.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await hit.text()).toBe('three')

    await (await fetch(`${base}/bytes`)).arrayBuffer()
    const bytes = await fetch(`${base}/bytes`)
    expect(bytes.headers.get('x-cache')).toBe('HIT')
    expect(Buffer.from(await bytes.arrayBuffer()).equals(binary)).toBe(true)

    for (let i = 0; i < 2; i++) {
      const stream = await fetch(`${base}/stream`)
      expect(stream.headers.get('x-cache')).toBe('MISS')
      expect(await stream.text()).toBe('ab')
    }
    expect(runs).toBe(6)
  })

  it('ignores a refresh marker header sent by a client', async () => {
    const app = Fastify()
    let runs = 0
    app.get('/p', cacheResponse(cache()), async () => {
      runs++
      return { runs }
    })
    const base = await listen(app)
    const forged = { headers: { 'x-redkit-refresh': '00000000-0000-4000-8000-000000000000' } }
    expect((await fetch(`${base}/p`, forged)).headers.get('x-cache')).toBe('MISS')
    const again = await fetch(`${base}/p`, forged)
    expect(again.headers.get('x-cache')).toBe('HIT')
    expect(await again.json()).toEqual({ runs: 1 })
  })

  it('works beside the route’s own hooks and a typed request', async () => {
    const app = Fastify()
    const seen: string[] = []
    app.get<{ Params: { id: string } }>(
      '/items/:id',
      {
        ...cacheResponse<{ Params: { id: string } }>(cache(), {
          tags: (request) => [`item:${request.params.id}`],
        }),
        onRequest: async (request) => {
          seen.push(request.params.id)
        },
      },
      async (request) => ({ id: request.params.id }),
    )
    const base = await listen(app)
    await (await fetch(`${base}/items/4`)).text()
    const hit = await fetch(`${base}/items/4`)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(await hit.json()).toEqual({ id: '4' })
    expect(seen).toEqual(['4', '4'])
    await kit.invalidateTags(['item:4'])
    expect((await fetch(`${base}/items/4`)).headers.get('x-cache')).toBe('MISS')
  })
})
