// Sends the answer of a health or metrics route from Fastify: JSON, with the status code the probe chose
// and no caching anywhere, since a load balancer must always see the state of now.

import type { FastifyReply } from 'fastify'
import type { ProbeResponse } from '../../metrics/health-probe.js'

/** Sends a probe's status code and JSON body with `Cache-Control: no-store`. */
export function send(reply: FastifyReply, { statusCode, body }: ProbeResponse<unknown>): FastifyReply {
  return reply.code(statusCode).header('cache-control', 'no-store').send(body)
}

/** Route config of every probe route: the app-wide `rateLimitPlugin` leaves probes alone. */
export const probeRouteConfig = Object.freeze({ rateLimit: false })
