// The dashboard in a real headless Chromium: the page loads without console errors under its CSP, draws
// uPlot charts, follows live cache traffic, shows keys as text, and leaves a screenshot in test/.artifacts.

import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedkit, type Redkit } from '../../src/index.js'
import { type RedisServer, startRedis, stopAllServers, waitFor } from '../harness/index.js'
import { closeAllDashboards, serveDashboard } from './dashboard-app.js'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = join(import.meta.dirname, '..', '.artifacts')

interface Canvas {
  width: number
  height: number
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray }
  }
}

let browser: Browser
let server: RedisServer
const kits: Redkit[] = []

describe('dashboard in headless Chromium', () => {
  beforeAll(async () => {
    // A browser test that skips itself proves nothing: without Chromium it fails and says what to install.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium`)
    ;[browser, server] = await Promise.all([
      chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      }),
      startRedis(),
    ])
    mkdirSync(ARTIFACTS, { recursive: true })
  })
  afterAll(async () => {
    await browser?.close()
    await closeAllDashboards()
    for (const kit of kits) await kit.close()
    await stopAllServers()
  })

  /** A page that records console errors, uncaught exceptions and CSP violations. */
  async function openPage(): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    page.on('requestfailed', (request) => problems.push(`${request.url()} ${request.failure()?.errorText}`))
    return { page, problems }
  }

  const hitRate = (page: Page) =>
    page.getAttribute('[data-namespace="products"]', 'data-hit-rate').then((value) => value ?? '')

  it.each(['memory', 'redis'] as const)(
    'on %s: loads, draws charts and follows cache traffic',
    async (mode) => {
      const kit = createRedkit({
        url: mode === 'memory' ? 'memory' : server.url,
        app: 'browser',
        env: mode,
        environment: {},
      })
      kits.push(kit)
      const app = await serveDashboard(kit, { interval: '200ms', history: '2m' })
      // One namespace before the page opens, so charts exist from the first poll.
      await fetch(`${app.url}/products/1`)
      const { page, problems } = await openPage()
      // Opened without the trailing slash: the redirect puts the relative file names in place.
      await page.goto(`${app.url}/dashboard`)
      expect(page.url()).toBe(app.dashboard)

      await page.waitForSelector('body[data-state="live"]')
      await page.waitForSelector('[data-namespace="products"] canvas')
      expect(await page.locator('[data-namespace="products"] canvas').count()).toBeGreaterThanOrEqual(2)
      expect(await page.textContent('#status')).toBe('healthy')
      expect(await page.textContent('#breaker')).toBe('breaker closed')
      if (mode === 'redis') {
        expect(await page.textContent('#roles [data-role="command"]')).toContain('ready')
      }

      // One miss so far: a hit rate of 0 once it reaches a sample.
      await waitFor(async () => (await hitRate(page)) === '0.0000', { message: 'hit rate 0 after one miss' })
      for (let i = 0; i < 9; i++) await fetch(`${app.url}/products/1`)
      // 9 hits of 10 reads within the last minute.
      await waitFor(async () => (await hitRate(page)) === '0.9000', {
        message: 'hit rate follows the traffic',
        timeoutMs: 10_000,
      })
      expect(await page.textContent('[data-namespace="products"] [data-field="hit-rate"]')).toBe('90.0 %')
      expect(await page.getAttribute('[data-namespace="products"]', 'data-reads')).toBe('10')

      // Limiter decisions and invalidations get their panels; a key that looks like markup stays text.
      for (let i = 0; i < 3; i++) await fetch(`${app.url}/limited`)
      await fetch(`${app.url}/products/${encodeURIComponent('<img src=x id=injected>')}`, {
        method: 'DELETE',
      })
      await fetch(`${app.url}/tags/catalog`, { method: 'POST' })
      await page.waitForSelector('[data-limiter="api"] canvas')
      await waitFor(async () => (await page.getAttribute('[data-limiter="api"]', 'data-rejected')) === '1', {
        message: 'one rejection shown',
      })
      await waitFor(async () => (await page.locator('#invalidations tbody tr').count()) === 2, {
        message: 'two invalidations listed',
      })
      expect(await page.textContent('#invalidations tbody tr[data-kind="delete"]')).toContain(
        'product:<img src=x id=injected>',
      )
      expect(await page.locator('#injected').count()).toBe(0)
      expect(await page.textContent('#invalidations tbody tr[data-kind="tags"]')).toContain('catalog')

      // Keys and memory of the namespace from the keyspace sample.
      const keys = await page.textContent('[data-namespace="products"] [data-field="keys"]')
      expect(Number.parseInt(keys ?? '', 10)).toBeGreaterThanOrEqual(1)
      expect(await page.textContent('[data-namespace="products"] [data-field="memory"]')).toMatch(/^~\d/)

      // A few intervals of mixed traffic, so the charts (and the screenshot) show lines.
      const samples = async () => Number(await page.getAttribute('body', 'data-samples'))
      for (let round = 0; round < 6; round++) {
        const before = await samples()
        for (let i = 0; i < 6; i++) await fetch(`${app.url}/products/r${round}-${i % 3}`)
        await fetch(`${app.url}/limited`)
        await waitFor(async () => (await samples()) >= before + 2, { message: 'the page polled again' })
      }

      // The chart holds drawn pixels, not a blank canvas.
      const painted = await page.$eval('[data-namespace="products"] canvas', (element) => {
        // The test is compiled without the DOM library: the little of a canvas it needs, spelled out.
        const canvas = element as unknown as Canvas
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
        let drawn = 0
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) drawn++
        return drawn
      })
      expect(painted).toBeGreaterThan(100)

      await page.screenshot({
        path: join(ARTIFACTS, mode === 'memory' ? 'dashboard.png' : 'dashboard-redis.png'),
        fullPage: true,
      })
      expect(problems).toEqual([])
      await page.close()
    },
  )

  it('shows why the data cannot be read when authorize refuses it', async () => {
    const kit = createRedkit({ url: 'memory', environment: {} })
    kits.push(kit)
    let allowed = true
    const app = await serveDashboard(kit, { interval: '200ms', authorize: () => allowed })
    const { page } = await openPage()
    await page.goto(app.dashboard)
    await page.waitForSelector('body[data-state="live"]')
    allowed = false
    await page.waitForSelector('body[data-state="error"]')
    expect(await page.textContent('#error')).toContain('HTTP 403')
    await page.close()
  })
})
