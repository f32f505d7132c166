// Unit tests of the glob matcher: a case table checked against redis-server, quirks included,
// plus escaping and the worst-case patterns that make backtracking matchers blow up.

import { describe, expect, it } from 'vitest'
import { escapeGlob } from '../../keys/key-builder.js'
import { compileGlob } from './glob.js'

// Every expectation here was checked against redis-server (KEYS with the pattern), quirks included.
const CASES: [pattern: string, subject: string, matches: boolean][] = [
  ['', '', true],
  ['', 'a', false],
  ['*', '', true],
  ['**', '', false],
  ['?', '', false],
  ['*', 'anything', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ba', false],
  ['*c', 'abc', true],
  ['*c', 'abd', false],
  ['a*c', 'ac', true],
  ['a*c', 'abbbc', true],
  ['a*c', 'abcd', false],
  ['a**c', 'abc', true],
  ['*a*b*', 'xaybz', true],
  ['*a*b*', 'xbya', false],
  ['?', 'a', true],
  ['?', 'ab', false],
  ['a?c', 'abc', true],
  ['a?c', 'ac', false],
  ['[abc]', 'b', true],
  ['[abc]', 'd', false],
  ['[^abc]', 'd', true],
  ['[^abc]', 'a', false],
  ['[a-c]', 'b', true],
  ['[a-c]', 'd', false],
  ['[c-a]', 'b', true],
  ['[^a-c]x', 'dx', true],
  ['[-a]', '-', true],
  // `[a-]`: Redis reads `a-]` as a range from `]` to `a`, so the class is never closed.
  ['[a-]', 'a', true],
  ['[a-]', '-', false],
  ['[a-]', ']', true],
  // `]` right after `[` closes an empty class, which matches nothing.
  ['[]a]', 'a', false],
  ['[]a]', ']a]', false],
  ['[]a]', 'a]', false],
  ['[]', '', false],
  ['[]', 'a', false],
  ['[^]', 'a', true],
  ['[^]x', 'ax', true],
  ['[\\]]', ']', true],
  ['[\\-]', '-', true],
  ['[a\\-z]', 'b', false],
  // An unclosed class takes the rest of the pattern.
  ['[abc', 'a', true],
  ['[abc', 'abc', false],
  ['x[', 'x', false],
  ['[a\\', '\\', true],
  ['\\*', '*', true],
  ['\\*', 'a', false],
  ['\\?', '?', true],
  ['\\[a]', '[a]', true],
  ['\\\\', '\\', true],
  ['a\\', 'a\\', true],
  ['\\a', 'a', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'axb', false],
  ['user:*', 'user:1', true],
  ['user:*', 'users:1', false],
  ['user:[0-9]*', 'user:42', true],
  ['user:[0-9]*', 'user:x', false],
  // Matching is on UTF-8 bytes: `é` is two of them, `日` three.
  ['?', 'é', false],
  ['??', 'é', true],
  ['é', 'é', true],
  ['*é', 'café', true],
  ['caf?', 'café', false],
  ['caf??', 'café', true],
  ['[é]', 'é', false],
  ['[é][é]', 'é', true],
  ['日*', '日本', true],
  ['?本', '日本', false],
  ['???本', '日本', true],
  ['*\u0000*', 'a\u0000b', true],
  ['a?b', 'a\nb', true],
  ['a*b', 'a\n\nb', true],
]

describe('compileGlob', () => {
  it.each(CASES)('%j against %j → %s', (pattern, subject, matches) => {
    expect(compileGlob(pattern)(subject)).toBe(matches)
  })

  it('compares range bounds as signed bytes, as Redis does on x86-64', () => {
    // `é` is C3 A9; the range A9..`?` is -87..63 as signed char, so it holds `*` and `-` but not `a`.
    const matches = compileGlob('[é-?')
    expect(matches('*')).toBe(true)
    expect(matches('-')).toBe(true)
    expect(matches('a')).toBe(false)
  })

  it('stays fast on patterns that make backtracking matchers explode', () => {
    const matches = compileGlob('*a*a*a*a*a*a*a*a*b')
    const subject = 'a'.repeat(20_000)
    const started = performance.now()
    expect(matches(subject)).toBe(false)
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('can be reused for many subjects', () => {
    const matches = compileGlob('shop:prod:product:*')
    expect(['shop:prod:product:1', 'shop:prod:order:1', 'shop:prod:product:'].map(matches)).toEqual([
      true,
      false,
      true,
    ])
  })
})

describe('escapeGlob', () => {
  const samples = ['a*b', 'a?b', '[x]', 'back\\slash', '^-!', 'plain', '', '*?[]\\', 'é*日']

  it.each(samples)('makes %j match itself', (text) => {
    expect(compileGlob(escapeGlob(text))(text)).toBe(true)
  })

  it('makes metacharacters literal', () => {
    const matches = compileGlob(escapeGlob('a*b?[c]'))
    expect(matches('aXXbY[c]')).toBe(false)
    expect(matches('a*b?c')).toBe(false)
    expect(compileGlob(`${escapeGlob('k[1]')}*`)('k[1]:rest')).toBe(true)
    expect(compileGlob(`${escapeGlob('k[1]')}*`)('k1:rest')).toBe(false)
  })
})
