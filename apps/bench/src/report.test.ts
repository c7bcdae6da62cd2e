import { describe, expect, it } from 'vitest'
import { headline, markdown, warmups, type CaseResult, type Row } from './report.js'

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

  it('takes the median of per-round ratios, with their range and the CPU ratio, when rows carry their rounds', () => {
    const rounds = (client: string, roundsRps: number[], roundsCpuUs: number[]): Row => ({ ...run(client, roundsRps[1]!), roundsRps, roundsCpuUs })
    const c: CaseResult = {
      id: 'c64',
      title: 'c64',
      rows: [
        // The median rounds (100 and 150) alone would say 1.50×; the rounds pair up as 2×, 1.5×, 1.2×.
        rounds('node fetch', [50, 100, 200], [40, 20, 10]),
        rounds('createFetch(Transport)', [100, 150, 240], [10, 10, 10]),
        rounds('createFetch + logger, retry, timeout', [90, 150, 180], [11, 10, 12]),
        rounds('node fetch over toDispatcher(Transport)', [45, 100, 220], [40, 20, 10]),
      ],
    }
    expect(headline([c])).toEqual([
      '- c64: createFetch(Transport) 1.50× node fetch (rounds 1.20–2.00×, CPU/req 0.50×), ' +
        'logger + retry + timeout overhead 10.0% (rounds 0.0% to 25.0%, CPU/req +10.0%), ' +
        'node fetch over toDispatcher(Transport) 1.00× node fetch (rounds 0.90–1.10×, CPU/req 1.00×)',
    ])
  })

  it('leaves out ratios whose clients were not run', () => {
    expect(headline([{ id: 'c1', title: 'c1', rows: [run('node fetch', 100), run('got', 10)] }])).toEqual([])
  })

  it("states each client's first warm-up and when it became steady", () => {
    const rows: Row[] = [
      { ...run('node fetch', 100), firstWarmup: { requests: 20_000, ms: 6400, cpuUsPerRequest: [412.4, 300, 180.2], steadyAfter: 9500 } },
      { ...run('got', 50), firstWarmup: { requests: 20_003, ms: 11_000, cpuUsPerRequest: [], steadyAfter: undefined } },
      run('axios', 60),
    ]
    const laterCase: Row = { ...run('Transport.roundTrip', 80), firstWarmup: { requests: 20_000, ms: 4000, cpuUsPerRequest: [90], steadyAfter: 0 } }
    expect(warmups([{ id: 'c1', title: 'c1', rows }, results[0]!, { id: 'proxy', title: 'proxy', rows: [laterCase] }])).toEqual([
      '- node fetch (c1): 20000 requests in 6.4 s, CPU/req 412 → 180 µs; steady after 9.5k requests',
      '- got (c1): 20003 requests in 11.0 s; not steady by its end',
      '- Transport.roundTrip (proxy): 20000 requests in 4.0 s, CPU/req 90 → 90 µs; steady after 0 requests',
    ])
  })
})
