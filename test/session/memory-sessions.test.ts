// The session suite on the embedded store (memory mode: what development runs on).

import type { Logger } from '../../src/index.js'
import { createRedkit } from '../../src/index.js'
import { sessionSuite } from './session-suite.js'

sessionSuite(
  'MemoryStore',
  async () => {
    // Data lives in the kit in memory mode, so every kit of the run is one instance whose logger
    // forwards to every logger a test asked for.
    const loggers = new Set<Logger>()
    const fanOut = (level: keyof Logger) => (fields: Record<string, unknown>, message: string) => {
      for (const logger of loggers) logger[level](fields, message)
    }
    const logger: Logger = {
      debug: fanOut('debug'),
      info: fanOut('info'),
      warn: fanOut('warn'),
      error: fanOut('error'),
    }
    const kit = createRedkit({ url: 'memory', environment: {}, app: 'sessions', logger })
    return {
      kit: (extra) => {
        if (extra) loggers.add(extra)
        return kit
      },
      teardown: () => kit.close(),
    }
  },
  true,
)
