// Whether options given again for an existing feature are the ones it was created with: plain data
// compared by value, functions and class instances by identity, bytes by content. Unset equals undefined.

/** Deep equality of two options values, as `kit.sessions()` and `kit.revocations()` need it. */
export function sameOptions(first: unknown, again: unknown): boolean {
  if (Object.is(first, again)) return true
  if (typeof first !== 'object' || typeof again !== 'object' || first === null || again === null) return false
  if (first instanceof Uint8Array || again instanceof Uint8Array) {
    return (
      first instanceof Uint8Array &&
      again instanceof Uint8Array &&
      Buffer.from(first).equals(Buffer.from(again))
    )
  }
  if (Array.isArray(first) || Array.isArray(again)) {
    return (
      Array.isArray(first) &&
      Array.isArray(again) &&
      first.length === again.length &&
      first.every((item, i) => sameOptions(item, again[i]))
    )
  }
  // Anything but a plain object (a serializer class, a Date...) is the same only if it is the same object.
  if (!isPlain(first) || !isPlain(again)) return false
  const keys = new Set([...Object.keys(first), ...Object.keys(again)])
  for (const key of keys) {
    if (!sameOptions((first as Record<string, unknown>)[key], (again as Record<string, unknown>)[key])) {
      return false
    }
  }
  return true
}

function isPlain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}
