import type { RunResult } from './measure.js'

/** CaseResult is the median of every client's runs in one case. */
export interface CaseResult {
  name: string
  rows: Array<{ client: string } & RunResult>
}

const BASE_FETCH = 'node fetch'
const BASE_UNDICI = 'undici.request'

function ratio(rps: number, base: number | undefined): string {
  return base === undefined || !(base > 0) ? '–' : `${(rps / base).toFixed(2)}×`
}

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–'
}

/** markdown renders the results as one table per case. */
export function markdown(results: CaseResult[]): string {
  const out: string[] = []
  for (const c of results) {
    const fetchRps = c.rows.find((r) => r.client === BASE_FETCH)?.rps
    const undiciRps = c.rows.find((r) => r.client === BASE_UNDICI)?.rps
    out.push(`### ${c.name}`, '')
    out.push('| client | req/s | vs node fetch | vs undici.request | p50 ms | p99 ms | CPU µs/req | RSS MB | errors |')
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const r of c.rows) {
      out.push(
        `| ${r.client} | ${Math.round(r.rps)} | ${ratio(r.rps, fetchRps)} | ${ratio(r.rps, undiciRps)} | ${fixed(r.p50, 2)} | ${fixed(r.p99, 2)} | ${fixed(r.cpuUsPerRequest, 1)} | ${fixed(r.rssMb, 0)} | ${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 60)})` : ''} |`,
      )
    }
    out.push('')
  }
  return out.join('\n')
}

/** headline picks the ratios the project's targets are stated in. */
export function headline(results: CaseResult[]): string[] {
  const lines: string[] = []
  const get = (name: string, client: string) => results.find((c) => c.name === name)?.rows.find((r) => r.client === client)?.rps
  for (const c of results) {
    const fetchRps = get(c.name, BASE_FETCH)
    const undiciRps = get(c.name, BASE_UNDICI)
    const ours = get(c.name, 'createFetch(Transport)')
    const rt = get(c.name, 'Transport.roundTrip')
    const tracked = get(c.name, 'createFetch + leakTracker')
    const stacks = get(c.name, 'createFetch + leakTracker (stacks)')
    const parts: string[] = []
    if (ours !== undefined && fetchRps) parts.push(`createFetch(Transport) ${ratio(ours, fetchRps)} node fetch`)
    if (rt !== undefined && undiciRps) parts.push(`Transport.roundTrip ${ratio(rt, undiciRps)} undici.request`)
    if (ours && tracked !== undefined) parts.push(`leakTracker overhead ${fixed((1 - tracked / ours) * 100, 1)}%`)
    if (ours && stacks !== undefined) parts.push(`with stacks ${fixed((1 - stacks / ours) * 100, 1)}%`)
    if (parts.length > 0) lines.push(`- ${c.name}: ${parts.join(', ')}`)
  }
  return lines
}
