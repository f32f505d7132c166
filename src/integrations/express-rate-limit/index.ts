// Entry point of 'redkit/express-rate-limit': a Store for express-rate-limit 8 that keeps its counts in
// redkit. express-rate-limit itself is an optional peer dependency (only its types are used here).

export type { AdapterStoreErrorPolicy } from '../../ratelimit/adapters/window-counter.js'
export type { RedkitStoreOptions } from './redkit-store.js'
export { RedkitStore } from './redkit-store.js'
