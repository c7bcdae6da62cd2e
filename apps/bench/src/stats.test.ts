import { describe, expect, it } from 'vitest'
import { medianBy, overhead, paired, percentile, ratio, spread } from './stats.js'

describe('percentile', () => {
  it('picks the nearest-rank value of sorted samples', () => {
    const sorted = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(percentile(sorted, 50)).toBe(5)
    expect(percentile(sorted, 99)).toBe(10)
    expect(percentile(sorted, 1)).toBe(1)
    expect(percentile([7], 99)).toBe(7)
  })

  it('is NaN without samples', () => {
    expect(percentile([], 50)).toBeNaN()
  })
})

describe('medianBy', () => {
  it('returns the middle item by key whatever the input order', () => {
    const runs = [{ rps: 30 }, { rps: 10 }, { rps: 50 }, { rps: 20 }, { rps: 40 }]
    expect(medianBy(runs, (r) => r.rps)).toBe(runs[0])
  })

  it('returns the upper middle item of an even count and undefined for none', () => {
    expect(medianBy([4, 1, 3, 2], (n) => n)).toBe(3)
    expect(medianBy([], (n: number) => n)).toBeUndefined()
  })
})

describe('ratio and overhead', () => {
  it('formats a ratio to two decimals and a dash without a base', () => {
    expect(ratio(300, 100)).toBe('3.00×')
    expect(ratio(90, 100)).toBe('0.90×')
    expect(ratio(1, undefined)).toBe('–')
    expect(ratio(1, 0)).toBe('–')
  })

  it('gives the slowdown in percent', () => {
    expect(overhead(95, 100)).toBeCloseTo(5)
    expect(overhead(110, 100)).toBeCloseTo(-10)
  })
})

describe('spread', () => {
  it('is half the range in percent of the center, NaN without values', () => {
    expect(spread([90, 100, 110], 100)).toBeCloseTo(10)
    expect(spread([100], 100)).toBe(0)
    expect(spread([], 100)).toBeNaN()
  })
})

describe('paired', () => {
  it('gives the median, lowest and highest of round-by-round ratios', () => {
    expect(paired([10, 30, 20, 8], [10, 10, 10, 10])).toEqual({ median: 2, min: 0.8, max: 3 })
  })

  it('pairs only the rounds both have, skipping a round with no base', () => {
    expect(paired([10, 20, 30], [5, 0])).toEqual({ median: 2, min: 2, max: 2 })
    expect(paired([10], [])).toBeUndefined()
  })
})
