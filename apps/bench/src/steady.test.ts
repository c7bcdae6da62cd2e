import { describe, expect, it } from 'vitest'
import { steadyAfter } from './steady.js'

describe('steadyAfter', () => {
  it('finds the first block from which the CPU per request stays within 5% of the final one', () => {
    // Blocks of 100 requests; the final figure is 100 µs, so up to 105 counts as steady.
    expect(steadyAfter([300, 200, 150, 104, 100, 101, 99, 103], 100, 100)).toBe(300)
  })

  it('does not count a dip that the CPU per request comes back up from', () => {
    expect(steadyAfter([300, 100, 100, 100, 200, 200, 200, 100, 100, 100], 100, 100)).toBe(700)
  })

  it('ignores one slow block among steady ones', () => {
    expect(steadyAfter([200, 100, 100, 400, 100, 100], 100, 100)).toBe(100)
  })

  it('is undefined when the warm-up ends above the final figure, or has no blocks', () => {
    expect(steadyAfter([300, 200, 150, 130], 100, 100)).toBeUndefined()
    expect(steadyAfter([], 100, 100)).toBeUndefined()
    expect(steadyAfter([100, 100], 100, Number.NaN)).toBeUndefined()
  })

  it('counts a warm-up that is steady from its first block as steady after 0 requests', () => {
    expect(steadyAfter([100, 102, 98], 500, 100)).toBe(0)
    expect(steadyAfter([100], 500, 100)).toBe(0)
  })
})
