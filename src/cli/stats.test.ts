import { describe, expect, it } from 'vitest'
import { compareVersions, formatBytes, parseClientList } from './doctor.js'
import { classify } from './stats.js'

describe('classify', () => {
  it('puts each redkit key in its namespace', () => {
    expect(classify('cache:products:product:1')).toEqual({ name: 'cache:products', kind: 'cache' })
    expect(classify('lock:cache:products:product:1')).toEqual({
      name: 'lock:cache:products',
      kind: 'cache-lock',
    })
    expect(classify('ratelimit:api:{1.2.3.4}')).toEqual({ name: 'ratelimit:api', kind: 'limiter' })
    expect(classify('sess:abc')).toEqual({ name: 'sess', kind: 'session' })
    expect(classify('sess.user:{u1}')).toEqual({ name: 'sess.user', kind: 'session' })
    expect(classify('revoked:jti:x')).toEqual({ name: 'revoked', kind: 'revocation' })
    expect(classify('misc')).toEqual({ name: 'misc', kind: 'other' })
  })

  it('decodes tag names from every kind of tag key', () => {
    // 'vendor:42' is URI-encoded by the tags, then '%' is encoded by the key builder.
    const encoded = '{vendor%253A42}'
    expect(classify(`tag:${encoded}:v`).tag).toEqual({ name: 'vendor:42', part: 'v' })
    expect(classify(`tag:${encoded}:idx:abc`)).toMatchObject({ name: 'tag index sets', tag: { part: 'idx' } })
    expect(classify(`tag:${encoded}:pending`)).toMatchObject({ name: 'tag pending sweeps' })
    expect(classify(`tag:${encoded}:sweeping:abc`)).toMatchObject({ name: 'tag sweep locks' })
  })
})

describe('doctor helpers', () => {
  it('parses CLIENT LIST lines', () => {
    const list = parseClientList(
      'id=3 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name=shop:command age=1\nid=4 addr=[::1]:5001 fd=9 name= age=2\n',
    )
    expect(list).toEqual([
      { id: '3', name: 'shop:command', ip: '127.0.0.1' },
      { id: '4', name: '', ip: '[::1]' },
    ])
  })

  it('compares versions and formats sizes', () => {
    expect(compareVersions('6.0.9', '6.2.0')).toBeLessThan(0)
    expect(compareVersions('7.0.15', '6.2.0')).toBeGreaterThan(0)
    expect(compareVersions('6.2', '6.2.0')).toBe(0)
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.5 KB')
  })
})
