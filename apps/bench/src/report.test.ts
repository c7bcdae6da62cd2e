import { describe, expect, it } from 'vitest'
import { headline, markdown, type CaseResult, type Row } from './report.js'

const run = (client: string, rps: number, errors = 0): Row => ({
  client,
  spreadPct: 4.4,
  rps,
  requests: 1,
  errors,
  firstError: errors > 0 ? 'connect ECONNREFUSED 127.0.0.1:1' : undefined,
  p50: 1,
  p99: 2,
  cpuUsPerRequest: 3.25,
  rssMb: 40.4,
})

const results: CaseResult[] = [
  {
    id: 'c64',
    title: 'small body, concurrency 64',
    rows: [
      run('node fetch', 100),
      run('undici.request', 400),
      run('Transport.roundTrip', 360),
      run('createFetch(Transport)', 300),
      run('createFetch + leakTracker', 285),
      run('createFetch + leakTracker (stacks)', 270),
      run('axios', 50, 2),
    ],
  },
]

describe('report', () => {
  it('shows each client with its ratios to node fetch and undici.request', () => {
    const table = markdown(results)
    expect(table).toContain('### small body, concurrency 64 (`c64`)')
    expect(table).toContain('| createFetch(Transport) | 300 | 4% | 3.00× | 0.75× | 1.00 | 2.00 | 3.3 | 40 | 0 |')
  })

  it('shows the error count with the first error', () => {
    expect(markdown(results)).toContain('| axios | 50 | 4% | 0.50× | 0.13× | 1.00 | 2.00 | 3.3 | 40 | 2 (connect ECONNREFUSED 127.0.0.1:1) |')
  })

  it('states the target ratios and the leak tracker overhead', () => {
    expect(headline(results)).toEqual([
      '- c64: createFetch(Transport) 3.00× node fetch, Transport.roundTrip 0.90× undici.request, leakTracker overhead 5.0%, with stacks 10.0%',
    ])
  })

  it('leaves out ratios whose clients were not run', () => {
    expect(headline([{ id: 'c1', title: 'c1', rows: [run('node fetch', 100), run('got', 10)] }])).toEqual([])
  })
})
