// Starts an HTTP app (Express, or anything with listen(port, host)) on a free loopback port for a test,
// and registers how to stop it, dropping kept-alive connections so the test's teardown never waits.

import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Listens on 127.0.0.1:0; pushes the app's closer onto `closers`; resolves its base URL. */
export async function listenOn(
  app: { listen(port: number, host: string): Server },
  closers: (() => Promise<void>)[],
): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
