import { describe, expect, it } from 'vitest'
import { clients } from './clients.js'
import { measure, percentile } from './measure.js'
import { headline, markdown } from './report.js'
import { listenAll } from './server.js'

describe('percentile', () => {
  it('picks the nearest-rank value', () => {
    const sorted = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(percentile(sorted, 50)).toBe(5)
    expect(percentile(sorted, 99)).toBe(10)
    expect(percentile(sorted, 1)).toBe(1)
    expect(percentile([], 50)).toBeNaN()
  })
})

describe('report', () => {
  it('computes ratios against node fetch and undici.request', () => {
    const row = (client: string, rps: number) => ({ client, rps, requests: 1, errors: 0, firstError: undefined, p50: 1, p99: 2, cpuUsPerRequest: 3, rssMb: 4 })
    const results = [{ name: 'case', rows: [row('node fetch', 100), row('undici.request', 400), row('createFetch(Transport)', 300), row('Transport.roundTrip', 360), row('createFetch + leakTracker', 285)] }]
    const table = markdown(results)
    expect(table).toContain('| createFetch(Transport) | 300 | 3.00× | 0.75× |')
    expect(headline(results)).toEqual(['- case: createFetch(Transport) 3.00× node fetch, Transport.roundTrip 0.90× undici.request, leakTracker overhead 5.0%'])
  })
})

describe('clients', () => {
  it('every client reads every body to the end from a real server', async () => {
    const server = await listenAll('raw', 2, 70_000)
    const http = await listenAll('http', 1, 100)
    try {
      const ports = [...server.ports, ...http.ports]
      const urls = ports.map((p) => `http://127.0.0.1:${p}/`)
      for (const name of Object.keys(clients)) {
        const result = await measure({ client: name, urls, concurrency: 2, warmupMs: 0, durationMs: 30 })
        expect(result.errors, `${name}: ${result.firstError}`).toBe(0)
        expect(result.requests, name).toBeGreaterThan(0)
      }
    } finally {
      await server.close()
      await http.close()
    }
  })
})
