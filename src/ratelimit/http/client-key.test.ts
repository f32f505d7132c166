import { describe, expect, it } from 'vitest'
import { ipKey } from './client-key.js'

describe('ipKey', () => {
  it('keeps IPv4 addresses as they are, mapped IPv6 included', () => {
    expect(ipKey('203.0.113.7')).toBe('ip:203.0.113.7')
    expect(ipKey('::ffff:203.0.113.7')).toBe('ip:203.0.113.7')
    expect(ipKey('::ffff:cb00:7107')).toBe('ip:203.0.113.7')
  })

  it('groups IPv6 by /64 by default, whatever the spelling', () => {
    const key = ipKey('2001:db8:85a3:8d3:1319:8a2e:370:7348')
    expect(key).toBe('ip:2001:db8:85a3:8d3::/64')
    expect(ipKey('2001:0DB8:85A3:08D3::1')).toBe(key)
    expect(ipKey('2001:db8:85a3:8d3:ffff:ffff:ffff:ffff')).toBe(key)
    expect(ipKey('fe80::1%eth0')).toBe('ip:fe80::/64')
    expect(ipKey('2001:db8:85a3:8d4::1')).not.toBe(key)
  })

  it('takes other prefix lengths, or none', () => {
    expect(ipKey('2001:db8:85a3:8d3::1', 48)).toBe('ip:2001:db8:85a3::/48')
    expect(ipKey('2001:db8:85a3:8dff::1', 56)).toBe('ip:2001:db8:85a3:8d00::/56')
    expect(ipKey('2001:db8::1', false)).toBe('ip:2001:db8::1')
    expect(ipKey('2001:db8:0:0:1:0:0:1', 128)).toBe('ip:2001:db8::1:0:0:1')
    expect(ipKey('::1')).toBe('ip:::/64')
  })

  it('passes anything that is not an address through', () => {
    expect(ipKey('unknown')).toBe('ip:unknown')
  })
})
