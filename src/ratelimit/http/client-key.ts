// Turns a client address into a rate-limit key: IPv4 as is, IPv6 grouped by network prefix (/64 by
// default: one subscriber usually holds a whole /64, so per-address keys would be trivial to evade).

import { isIPv4, isIPv6 } from 'node:net'

/**
 * The key of a client address: `ip:203.0.113.7`, or for IPv6 the network it belongs to, e.g.
 * `ip:2001:db8:85a3:8d3::/64`. IPv4-mapped IPv6 (`::ffff:203.0.113.7`) counts as the IPv4 address.
 * @param prefixLength IPv6 bits that identify a client; `false` keys every IPv6 address on its own.
 */
export function ipKey(address: string, prefixLength: number | false = 64): string {
  let ip = address.trim()
  const zone = ip.indexOf('%')
  if (zone !== -1) ip = ip.slice(0, zone)
  if (isIPv4(ip)) return `ip:${ip}`
  if (!isIPv6(ip)) return `ip:${ip}`
  const hextets = expandIPv6(ip)
  if (hextets[0] === 0 && hextets[1] === 0 && hextets[2] === 0 && hextets[3] === 0 && hextets[4] === 0) {
    if (hextets[5] === 0xffff) {
      return `ip:${hextets[6]! >> 8}.${hextets[6]! & 0xff}.${hextets[7]! >> 8}.${hextets[7]! & 0xff}`
    }
  }
  const bits = prefixLength === false ? 128 : prefixLength
  const masked = hextets.map((value, index) => {
    const keep = Math.min(16, Math.max(0, bits - index * 16))
    return keep === 0 ? 0 : value & ((0xffff << (16 - keep)) & 0xffff)
  })
  return `ip:${compressIPv6(masked)}${bits < 128 ? `/${bits}` : ''}`
}

/** The eight 16-bit groups of a valid IPv6 address (an embedded IPv4 tail included). */
function expandIPv6(ip: string): number[] {
  let text = ip.toLowerCase()
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number]
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, rest] = text.split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = rest === undefined || rest === '' ? [] : rest.split(':')
  const missing = 8 - left.length - right.length
  const groups =
    rest === undefined ? left : [...left, ...Array.from({ length: missing }, () => '0'), ...right]
  return groups.map((group) => Number.parseInt(group, 16))
}

/** RFC 5952 text: lowercase, leading zeros dropped, the longest run of two or more zero groups as `::`. */
function compressIPv6(hextets: readonly number[]): string {
  let bestStart = -1
  let bestLength = 0
  for (let i = 0; i < 8; ) {
    if (hextets[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && hextets[j] === 0) j++
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const text = hextets.map((value) => value.toString(16))
  if (bestStart === -1) return text.join(':')
  const head = text.slice(0, bestStart).join(':')
  const tail = text.slice(bestStart + bestLength).join(':')
  return `${head}::${tail}`
}
