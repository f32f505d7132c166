import { describe, expect, it } from 'vitest'
import { decodeEnvelope, type Envelope, encodeEnvelope } from './envelope.js'

const sample: Envelope = {
  flags: { binary: false, compression: 'none', tagged: true },
  createdAt: 1_764_000_000_000,
  freshUntil: 1_764_000_600_000,
  staleUntil: Number.MAX_SAFE_INTEGER,
  tags: 'a=1,b=2',
  payload: '{"x":"a|b|c"}',
}

describe('envelope', () => {
  it('round-trips every field, including separators inside the payload', () => {
    expect(decodeEnvelope(encodeEnvelope(sample))).toEqual(sample)
    for (const compression of ['gzip', 'brotli'] as const) {
      const binary = {
        ...sample,
        flags: { binary: true, compression, tagged: false },
        tags: '',
        payload: 'AAEC',
      }
      expect(decodeEnvelope(encodeEnvelope(binary))).toEqual(binary)
    }
  })

  it.each([
    '',
    'hello',
    '{"json":true}',
    'rk1|',
    'rk1|t--',
    'rk1|x--|1|2|3||p',
    'rk1|tz-|1|2|3||p',
    'rk1|t-?|1|2|3||p',
    'rk1|t--|1|2|3',
    'rk1|t--||2|3||p',
    'rk1|t--|1|A|3||p',
    'rk1|t--|1|2|zzzzzzzzzzzz||p',
    'rk2|t--|1|2|3||p',
  ])('rejects foreign or broken data %j', (raw) => {
    expect(decodeEnvelope(raw)).toBeUndefined()
  })
})
