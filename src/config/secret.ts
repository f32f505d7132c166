// Wraps a credential so it cannot leak through logs, errors, JSON or util.inspect.
// Only the connection code calls reveal(); everything else sees "[redacted]".

import { inspect } from 'node:util'

/** A credential that prints as `[redacted]` everywhere. */
export class Secret {
  readonly #value: string

  constructor(value: string) {
    this.#value = value
  }

  /** The raw credential, for the driver only. */
  reveal(): string {
    return this.#value
  }

  toString(): string {
    return '[redacted]'
  }

  toJSON(): string {
    return '[redacted]'
  }

  [inspect.custom](): string {
    return '[redacted]'
  }
}

/** The URL with any user info removed, safe to log: `redis://***@host:6379/0`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, '$1***@')
}
