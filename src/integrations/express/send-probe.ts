// Sends the answer of a health or metrics route from Express: JSON, with the status code the probe chose
// and no caching anywhere, since a load balancer must always see the state of now.

import type { Response } from 'express'
import type { ProbeResponse } from '../../metrics/health-probe.js'

/** Sends a probe's status code and JSON body with `Cache-Control: no-store`. */
export function send(res: Response, { statusCode, body }: ProbeResponse<unknown>): void {
  res.status(statusCode).set('Cache-Control', 'no-store').json(body)
}
