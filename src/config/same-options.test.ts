import { describe, expect, it } from 'vitest'
import { sameOptions } from './same-options.js'

const fn = () => 1

describe('sameOptions', () => {
  it.each([
    ['equal plain data', { a: 1, b: ['x', { c: true }] }, { b: ['x', { c: true }], a: 1 }, true],
    ['an unset key and an undefined one', { a: 1 }, { a: 1, b: undefined }, true],
    ['the same function', { f: fn }, { f: fn }, true],
    ['two functions with the same code', { f: () => 1 }, { f: () => 1 }, false],
    ['buffers with the same bytes', { k: Buffer.from('ab') }, { k: Buffer.from('ab') }, true],
    ['buffers with other bytes', { k: Buffer.from('ab') }, { k: Buffer.from('ac') }, false],
    ['a buffer and a string', { k: Buffer.from('ab') }, { k: 'ab' }, false],
    ['another number', { a: 1 }, { a: 2 }, false],
    ['a longer array', { a: [1] }, { a: [1, 2] }, false],
    ['an array and an object', { a: [] }, { a: {} }, false],
    ['two instances of a class', { s: new Map() }, { s: new Map() }, false],
    ['undefined and an empty object', undefined, {}, false],
  ])('%s', (_label, first, again, same) => {
    expect(sameOptions(first, again)).toBe(same)
  })
})
