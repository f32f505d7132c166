// Splitting work into bounded batches: the store sends at most so many keys per command, the sweeper
// at most so many per script, so no single call holds Redis for long.

/** `items` in consecutive slices of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = []
  for (let i = 0; i < items.length; i += size) parts.push(items.slice(i, i + size))
  return parts
}
