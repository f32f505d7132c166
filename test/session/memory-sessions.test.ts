// The session suite on the embedded store (memory mode: what development runs on).

import { memorySessionSetup, sessionSuite } from './session-suite.js'

sessionSuite('MemoryStore', memorySessionSetup('sessions'))
