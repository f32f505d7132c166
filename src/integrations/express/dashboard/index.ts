// Express Router serving redkit's live dashboard: one HTML page, its script and uPlot, and the JSON the page
// polls, behind an `authorize` check and refused in production without one.

import { type Request, type Response, Router } from 'express'
import { InvalidOptionsError } from '../../../errors.js'
import {
  DASHBOARD_CSP,
  DASHBOARD_FILES,
  type DashboardAsset,
  dashboardAsset,
  dashboardHtml,
} from '../../../metrics/dashboard-page.js'
import { DashboardSampler, type DashboardSamplerOptions } from '../../../metrics/dashboard-sampler.js'
import type { Redkit } from '../../../redkit.js'

/** Options of {@link dashboardRoutes}. */
export interface DashboardRoutesOptions extends DashboardSamplerOptions {
  /**
   * Decides who may see the dashboard (page, files and data); anything but `true` answers 403. A throw or
   * rejection goes to your error handler (`next(error)`) and the dashboard is not shown. Without it the
   * dashboard is open, except when `NODE_ENV` is `production`: there every request is refused with 403
   * until you pass one (`authorize: () => true` if a network rule or a middleware in front protects it).
   * @default undefined (open outside production, refused in production)
   * @example { authorize: (req) => req.session?.role === 'admin' }
   */
  authorize?: (req: Request) => boolean | Promise<boolean>
}

const PRODUCTION_REFUSAL =
  "redkit dashboard: refused because NODE_ENV is 'production' and no authorize option was given. Pass dashboardRoutes(kit, { authorize: (req) => ... }) to allow it.\n"

/**
 * A Router serving the live dashboard: `GET /` (the page) and `GET /data.json` (what it polls), plus the
 * page's script, stylesheet and uPlot. Mount it under a path of its own. Charts of hit rate and read
 * latency per cache namespace and of rate-limit decisions per limiter over the last `history` (10 min,
 * one point per `interval`, 2 s), keys and memory per namespace, connections and breaker, recent
 * invalidations. The sampler starts when the Router is created and stops on `kit.close()`; in production
 * without `authorize` nothing starts and every request gets 403. See docs/dashboard.md.
 *
 * @example
 * import { dashboardRoutes } from 'redkit/express'
 * app.use('/admin/redkit', requireLogin, dashboardRoutes(kit, { authorize: (req) => req.user?.isAdmin === true }))
 * // open http://localhost:3000/admin/redkit/
 * @throws InvalidOptionsError when an option is invalid
 */
export function dashboardRoutes(kit: Redkit, options: DashboardRoutesOptions = {}): Router {
  const { authorize, ...samplerOptions } = options
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw new InvalidOptionsError(
      'dashboardRoutes: authorize must be a function such as (req) => req.user?.isAdmin === true.',
    )
  }
  const sampler = new DashboardSampler(kit, samplerOptions, 'dashboardRoutes')
  const router = Router()
  if (authorize === undefined && process.env.NODE_ENV === 'production') {
    kit.context.logger.warn(
      {},
      "redkit: dashboardRoutes refuses every request: NODE_ENV is 'production' and no authorize option was given",
    )
    router.use((_req, res) => {
      res.status(403).set('Cache-Control', 'no-store').type('text/plain').send(PRODUCTION_REFUSAL)
    })
    return router
  }
  sampler.start()

  if (authorize !== undefined) {
    router.use((req, res, next) => {
      Promise.resolve()
        .then(() => authorize(req))
        .then((allowed) => {
          if (allowed === true) return next()
          res.status(403).set('Cache-Control', 'no-store').type('text/plain').send('Forbidden\n')
        }, next)
    })
  }

  router.get('/', (req, res) => {
    // The page refers to its files relatively, so it must be served from a path ending in '/'.
    const path = req.originalUrl.split('?')[0] ?? ''
    if (!path.endsWith('/')) {
      const last = path.slice(path.lastIndexOf('/') + 1)
      const query = req.originalUrl.slice(path.length)
      // Relative to the current directory: never a redirect to another host.
      res.redirect(308, `./${encodeURIComponent(decodeSegment(last))}/${query}`)
      return
    }
    secure(res, 'no-store')
    res.set('Content-Security-Policy', DASHBOARD_CSP).type('text/html; charset=utf-8').send(dashboardHtml)
  })
  router.get(`/${DASHBOARD_FILES.data}`, (_req, res, next) => {
    sampler.snapshot().then((snapshot) => {
      secure(res, 'no-store')
      res.json(snapshot)
    }, next)
  })
  router.get('/:file', (req, res, next) => {
    const asset = dashboardAsset(req.params.file)
    if (asset === undefined) return next()
    asset.then((file: DashboardAsset) => {
      secure(res, 'private, max-age=300')
      res.type(file.contentType).send(file.body)
    }, next)
  })
  return router
}

/** Headers every dashboard answer carries: no sniffing, no referrer, no caching by shared caches. */
function secure(res: Response, cacheControl: string): void {
  res.set({
    'Cache-Control': cacheControl,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  })
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}
