// Loads express-session on demand: it is an optional peer, so redkit must load without it. A dynamic
// import() works from both the ESM and the CommonJS build, unlike createRequire(import.meta.url).

/** The part of express-session the store borrows: its base class, whose createSession builds `req.session`. */
export interface ExpressSessionModule {
  Store: { prototype: { createSession(this: unknown, req: object, data: object): unknown } }
}

let loading: Promise<ExpressSessionModule | undefined> | undefined
let loaded: ExpressSessionModule | undefined

/** Starts loading express-session once per process; resolves `undefined` when it is not installed. */
export function loadExpressSession(): Promise<ExpressSessionModule | undefined> {
  loading ??= import('express-session').then(
    (module: unknown) => {
      const exports = module as { default?: ExpressSessionModule } & Partial<ExpressSessionModule>
      loaded = exports.Store ? (exports as ExpressSessionModule) : exports.default
      return loaded
    },
    () => undefined,
  )
  return loading
}

/** The module if it has finished loading. */
export function loadedExpressSession(): ExpressSessionModule | undefined {
  return loaded
}
