import { describe, expect, it } from 'vitest'
import { SCENARIOS, SIZES, parseArgs } from './args.js'

describe('parseArgs', () => {
  it('runs every scenario at the small size by default, without comparison columns', () => {
    expect(parseArgs([])).toEqual({ size: SIZES.small, only: [...SCENARIOS], compare: false })
  })

  it('reads --size, --only and --compare', () => {
    expect(parseArgs(['--size', 'full', '--only', 'faults,aborts', '--compare'])).toEqual({ size: SIZES.full, only: ['faults', 'aborts'], compare: true })
  })

  it('rejects an unknown size, scenario or flag with the usage', () => {
    expect(() => parseArgs(['--size', 'huge'])).toThrow(/--size wants small or full[\s\S]*usage/)
    expect(() => parseArgs(['--only', 'storm'])).toThrow(/unknown scenario "storm"/)
    expect(() => parseArgs(['--quick'])).toThrow(/unknown flag or missing value: --quick/)
  })

  it('keeps the full size at the figures issue 18 asks for', () => {
    expect(SIZES.full).toMatchObject({ staleRequests: 10_000, staleConcurrency: 32, aborts: 10_000, abortMaxBody: 1024 * 1024, origins: 20_000 })
  })
})
