import type { RunResult } from './measure.js'
import { overhead, ratio } from './stats.js'

/** CaseResult is one case's report: the median run of every client. */
export interface CaseResult {
  id: string
  title: string
  rows: Array<Row>
}

/** Row is one client's line: its median run, with how far its rounds strayed. */
export type Row = RunResult & {
  client: string
  /** spreadPct is half the range of the rounds' req/s, in % of the median. */
  spreadPct: number
  /** roundsRps is every round's req/s, in the order they ran. */
  roundsRps?: number[]
}

const NODE_FETCH = 'node fetch'
const UNDICI_REQUEST = 'undici.request'
const CREATE_FETCH = 'createFetch(Transport)'
const ROUND_TRIP = 'Transport.roundTrip'
const TRACKED = 'createFetch + leakTracker'
const TRACKED_STACKS = 'createFetch + leakTracker (stacks)'

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–'
}

function rpsOf(c: CaseResult, client: string): number | undefined {
  return c.rows.find((r) => r.client === client)?.rps
}

function errorCell(r: RunResult): string {
  if (r.errors === 0) return '0'
  return `${r.errors}${r.firstError === undefined ? '' : ` (${r.firstError.slice(0, 80).replaceAll('|', '\\|')})`}`
}

/** markdown renders the results as one table per case. */
export function markdown(results: readonly CaseResult[]): string {
  const out: string[] = []
  for (const c of results) {
    const fetchRps = rpsOf(c, NODE_FETCH)
    const undiciRps = rpsOf(c, UNDICI_REQUEST)
    out.push(`### ${c.title} (\`${c.id}\`)`, '')
    // TLS cases say how many connections each run opened (the median round's, counted by the server).
    const conns = c.rows.some((r) => r.connections !== undefined)
    out.push(`| client | req/s | ± rounds | vs node fetch | vs undici.request | p50 ms | p99 ms | CPU µs/req | RSS MB | errors |${conns ? ' conns |' : ''}`)
    out.push(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|${conns ? '---:|' : ''}`)
    for (const r of c.rows) {
      const cells = [r.client, Math.round(r.rps), `${fixed(r.spreadPct, 0)}%`, ratio(r.rps, fetchRps), ratio(r.rps, undiciRps), fixed(r.p50, 2), fixed(r.p99, 2)]
      const extra = conns ? [String(r.connections ?? '–')] : []
      out.push(`| ${[...cells, fixed(r.cpuUsPerRequest, 1), fixed(r.rssMb, 0), errorCell(r), ...extra].join(' | ')} |`)
    }
    out.push('')
  }
  return out.join('\n')
}

/**
 * headline states, per case, the ratios the project's targets are written
 * in: createFetch(Transport) against Node's fetch, Transport.roundTrip
 * against undici.request, and the leak tracker's cost against
 * createFetch(Transport) without it.
 */
export function headline(results: readonly CaseResult[]): string[] {
  const lines: string[] = []
  for (const c of results) {
    const ours = rpsOf(c, CREATE_FETCH)
    const roundTrip = rpsOf(c, ROUND_TRIP)
    const fetchRps = rpsOf(c, NODE_FETCH)
    const undiciRps = rpsOf(c, UNDICI_REQUEST)
    const parts: string[] = []
    if (ours !== undefined && fetchRps !== undefined) parts.push(`createFetch(Transport) ${ratio(ours, fetchRps)} node fetch`)
    if (roundTrip !== undefined && undiciRps !== undefined) parts.push(`Transport.roundTrip ${ratio(roundTrip, undiciRps)} undici.request`)
    for (const [client, name] of [[TRACKED, 'leakTracker overhead'], [TRACKED_STACKS, 'with stacks']] as const) {
      const tracked = rpsOf(c, client)
      if (ours !== undefined && ours > 0 && tracked !== undefined) parts.push(`${name} ${fixed(overhead(tracked, ours), 1)}%`)
    }
    if (parts.length > 0) lines.push(`- ${c.id}: ${parts.join(', ')}`)
  }
  return lines
}
