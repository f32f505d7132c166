// Real Express 5 and Fastify 5 apps behind one small interface, so the HTTP cache suite describes routes
// once and runs them on both frameworks over real sockets (port 0, global fetch).

import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import type { Cache, HttpCacheOptions, InvalidateOnOptions, Redkit } from '../../src/index.js'
import {
  cacheResponse as expressCacheResponse,
  invalidateOn as expressInvalidateOn,
} from '../../src/integrations/express/index.js'
import {
  cacheResponse as fastifyCacheResponse,
  invalidateOn as fastifyInvalidateOn,
} from '../../src/integrations/fastify/index.js'
import { listenOn, waitFor } from '../harness/index.js'

/** Polls `check` until it gives a value (waitFor's deadline and message), typed without the `undefined`. */
export async function until<T>(check: () => Promise<T | undefined>, message: string): Promise<T> {
  const value = await waitFor(check, { message })
  if (value === undefined) throw new Error(message)
  return value
}

/** The parts of a request the suite's handlers and options read, on either framework. */
export interface TestRequest {
  method: string
  headers: IncomingHttpHeaders
  params: Record<string, string>
  url: string
}

/** What a test handler answers: an object is sent as JSON, a string as text/plain. */
export interface TestReply {
  status?: number
  body: unknown
  headers?: Record<string, string>
}

export type TestHandler = (req: TestRequest) => TestReply | Promise<TestReply>

export interface TestApp {
  /** A GET route (HEAD comes with it) behind cacheResponse. */
  cached(path: string, cache: Cache, options: HttpCacheOptions<TestRequest>, handler: TestHandler): void
  /** A POST route behind invalidateOn. */
  mutation(
    path: string,
    kit: Redkit,
    tagsOf: (req: TestRequest) => readonly string[] | undefined,
    handler: TestHandler,
    options?: InvalidateOnOptions,
  ): void
}

export interface Framework {
  name: 'express' | 'fastify'
  /**
   * Starts an app on 127.0.0.1:0 and resolves with its base URL. Every request first goes through a
   * counter (`arrivals`), and a request with `x-test-user` gets `req.user = { id }` (as auth middleware
   * would set it).
   */
  serve(routes: (app: TestApp) => void): Promise<{ url: string; arrivals: () => number }>
  /** Closes every app this framework started. */
  closeAll(): Promise<void>
}

function userOf(headers: IncomingHttpHeaders): { id: string } | undefined {
  const id = headers['x-test-user']
  return typeof id === 'string' ? { id } : undefined
}

export function expressFramework(): Framework {
  const closers: (() => Promise<void>)[] = []
  return {
    name: 'express',
    async serve(routes) {
      const app = express()
      let arrivals = 0
      app.use((req, _res, next) => {
        arrivals++
        const user = userOf(req.headers)
        if (user) (req as { user?: unknown }).user = user
        next()
      })
      const reply = (res: express.Response, out: TestReply) => {
        res.status(out.status ?? 200)
        if (out.headers) res.set(out.headers)
        if (typeof out.body === 'string') res.type('text/plain').send(out.body)
        else res.json(out.body)
      }
      routes({
        cached(path, cache, options, handler) {
          app.get(
            path,
            expressCacheResponse(cache, options as HttpCacheOptions<express.Request>),
            async (req, res) => reply(res, await handler(req as unknown as TestRequest)),
          )
        },
        mutation(path, kit, tagsOf, handler, options) {
          app.post(
            path,
            expressInvalidateOn(kit, (req) => tagsOf(req as unknown as TestRequest), options),
            async (req, res) => reply(res, await handler(req as unknown as TestRequest)),
          )
        },
      })
      const url = await listenOn(app, closers)
      return {
        url,
        arrivals: () => arrivals,
      }
    },
    async closeAll() {
      for (const close of closers.splice(0)) await close()
    },
  }
}

export function fastifyFramework(): Framework {
  const apps: { close(): Promise<unknown> }[] = []
  return {
    name: 'fastify',
    async serve(routes) {
      const app = Fastify()
      let arrivals = 0
      app.decorateRequest('user', null)
      app.addHook('onRequest', async (request) => {
        arrivals++
        const user = userOf(request.headers)
        if (user) (request as { user?: unknown }).user = user
      })
      const send = (reply: import('fastify').FastifyReply, out: TestReply) => {
        reply.code(out.status ?? 200)
        if (out.headers) reply.headers(out.headers)
        if (typeof out.body === 'string') reply.type('text/plain; charset=utf-8')
        return reply.send(out.body)
      }
      const asTest = (request: import('fastify').FastifyRequest): TestRequest =>
        ({
          method: request.method,
          headers: request.headers,
          params: request.params as Record<string, string>,
          url: request.url,
        }) satisfies TestRequest
      routes({
        cached(path, cache, options, handler) {
          const hooks = fastifyCacheResponse(cache, {
            ...options,
            key: options.key && ((request) => options.key!(asTest(request))),
            tags: options.tags && ((request) => options.tags!(asTest(request))),
            skip: options.skip && ((request) => options.skip!(asTest(request))),
            authenticated: options.authenticated && ((request) => options.authenticated!(asTest(request))),
          } as import('../../src/integrations/fastify/index.js').CacheResponseOptions)
          app.get(path, { ...hooks }, async (request, reply) => send(reply, await handler(asTest(request))))
        },
        mutation(path, kit, tagsOf, handler, options) {
          app.post(
            path,
            { onResponse: fastifyInvalidateOn(kit, (request) => tagsOf(asTest(request)), options) },
            async (request, reply) => send(reply, await handler(asTest(request))),
          )
        },
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      apps.push(app)
      const address = app.server.address() as AddressInfo
      return { url: `http://127.0.0.1:${address.port}`, arrivals: () => arrivals }
    },
    async closeAll() {
      for (const app of apps.splice(0)) await app.close()
    },
  }
}
