import { describe, expect, it } from 'vitest'
import { parseRange } from './blob-url.js'

describe('parseRange (a single bytes= range, inclusive)', () => {
  it.each<[string, number, [number, number] | undefined]>([
    ['bytes=2-5', 16, [2, 5]],
    ['bytes = 2 - 5', 16, [2, 5]],
    ['bytes=10-', 16, [10, 15]],
    ['bytes=-4', 16, [12, 15]],
    ['bytes=-40', 16, [0, 15]],
    ['bytes=3-100', 16, [3, 15]],
    ['bytes=16-20', 16, undefined],
    ['bytes=5-2', 16, undefined],
    ['bytes=-', 16, undefined],
    ['bytes=-0', 16, undefined],
    ['bytes=1-2,4-5', 16, undefined],
    ['items=1-2', 16, undefined],
  ])('%s of %i bytes → %j', (value, size, expected) => {
    expect(parseRange(value, size)).toEqual(expected)
  })
})
