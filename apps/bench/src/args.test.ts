import { describe, expect, it } from 'vitest'
import { parseArgs, QUICK_WARMUP_REQUESTS, WARMUP_REQUESTS } from './args.js'
import { CASES } from './cases.js'
import { CLIENTS } from './clients/index.js'

describe('parseArgs', () => {
  it('selects every client and case by default', () => {
    const options = parseArgs([])
    expect(options.clients).toEqual(CLIENTS)
    expect(options.cases).toEqual(CASES)
    expect(options.json).toBe(false)
  })

  it('selects clients by id or label and cases by id, in the order given', () => {
    const options = parseArgs(['--clients', 'transport,node fetch', '--cases', 'c64,c1', '--json'])
    expect(options.clients.map((c) => c.id)).toEqual(['transport', 'fetch'])
    expect(options.cases.map((c) => c.id)).toEqual(['c64', 'c1'])
    expect(options.json).toBe(true)
  })

  it('passes a CPU profile folder on to the client processes', () => {
    expect(parseArgs([]).cpuProfDir).toBeUndefined()
    expect(parseArgs(['--cpu-prof', '/tmp/prof']).cpuProfDir).toBe('/tmp/prof')
  })

  it("passes a heap profile folder and the clients' Node on", () => {
    expect(parseArgs([]).heapProf).toBeUndefined()
    expect(parseArgs([]).node).toBeUndefined()
    const options = parseArgs(['--heap-prof', '/tmp/heap', '--node', '24'])
    expect(options.heapProf).toEqual({ dir: '/tmp/heap', survivors: false })
    expect(parseArgs(['--heap-survivors', '/tmp/kept']).heapProf).toEqual({ dir: '/tmp/kept', survivors: true })
    expect(() => parseArgs(['--heap-prof', 'a', '--heap-survivors', 'b'])).toThrow('choose one')
    expect(options.node).toBe('24')
    expect(() => parseArgs(['--node'])).toThrow('unknown flag or missing value: --node')
  })

  it('makes a quick run shorter than the default one', () => {
    const quick = parseArgs(['--quick'])
    const full = parseArgs([])
    expect(quick.rounds * (quick.durationMs + quick.warmupMs)).toBeLessThan(full.rounds * (full.durationMs + full.warmupMs))
    expect(quick.firstWarmupMs).toBeLessThan(full.firstWarmupMs)
    expect(quick.firstWarmupRequests).toBeLessThan(full.firstWarmupRequests)
    expect(parseArgs(['--quick', '--rounds', '3']).rounds).toBe(3)
  })

  it('warms every client up for a number of requests before its first run, the same for all', () => {
    expect(parseArgs([]).firstWarmupRequests).toBe(WARMUP_REQUESTS)
    expect(parseArgs(['--quick']).firstWarmupRequests).toBe(QUICK_WARMUP_REQUESTS)
    expect(parseArgs(['--warmup-requests', '50000']).firstWarmupRequests).toBe(50_000)
    expect(parseArgs(['--quick', '--warmup-requests', '0']).firstWarmupRequests).toBe(0)
    expect(() => parseArgs(['--warmup-requests', '1e3x'])).toThrow('--warmup-requests wants a whole number')
    expect(() => parseArgs(['--warmup-requests'])).toThrow('unknown flag or missing value: --warmup-requests')
  })

  it('rejects an unknown client, case or flag', () => {
    expect(() => parseArgs(['--clients', 'curl'])).toThrow('unknown client "curl"')
    expect(() => parseArgs(['--cases', 'c2'])).toThrow('unknown case "c2"')
    expect(() => parseArgs(['--fast'])).toThrow('unknown flag')
    expect(() => parseArgs(['--rounds', 'x'])).toThrow('--rounds wants a whole number')
  })
})
