import type { RunResult, Warmup } from './measure.js'
import { overhead, paired, ratio } from './stats.js'

/** CaseResult is one case's report: the median run of every client. */
export interface CaseResult {
  id: string
  title: string
  rows: Array<Row>
}

/** FirstWarmup is a client's warm-up before its first run, with when it became steady (see steady.ts; undefined: not by its end). */
export type FirstWarmup = Warmup & { steadyAfter: number | undefined }

/** Row is one client's line: its median run, with how far its rounds strayed. */
export type Row = Omit<RunResult, 'warmup'> & {
  client: string
  /** spreadPct is half the range of the rounds' req/s, in % of the median. */
  spreadPct: number
  /** roundsRps is every round's req/s, in the order they ran. */
  roundsRps?: number[]
  /** roundsCpuUs is every round's CPU µs per request, in the order they ran. */
  roundsCpuUs?: number[]
  /** firstWarmup is the client's first warm-up, in the rows of the first case it ran only. */
  firstWarmup?: FirstWarmup
}

const NODE_FETCH = 'node fetch'
const UNDICI_REQUEST = 'undici.request'
const CREATE_FETCH = 'createFetch(Transport)'
const ROUND_TRIP = 'Transport.roundTrip'
const TRACKED = 'createFetch + leakTracker'
const TRACKED_STACKS = 'createFetch + leakTracker (stacks)'
const MIDDLEWARE = 'createFetch + logger, retry, timeout'
const BRIDGED = 'node fetch over toDispatcher(Transport)'

/** The comparisons the project's targets are written in: [client, base, how it reads]. */
const TARGETS: ReadonlyArray<readonly [string, string, 'ratio' | 'overhead', string]> = [
  [CREATE_FETCH, NODE_FETCH, 'ratio', 'createFetch(Transport) {} node fetch{d}'],
  [ROUND_TRIP, UNDICI_REQUEST, 'ratio', 'Transport.roundTrip {} undici.request{d}'],
  [TRACKED, CREATE_FETCH, 'overhead', 'leakTracker overhead {}{d}'],
  [TRACKED_STACKS, CREATE_FETCH, 'overhead', 'with stacks {}{d}'],
  [MIDDLEWARE, CREATE_FETCH, 'overhead', 'logger + retry + timeout overhead {}{d}'],
  [BRIDGED, NODE_FETCH, 'ratio', 'node fetch over toDispatcher(Transport) {} node fetch{d}'],
]

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–'
}

function rpsOf(c: CaseResult, client: string): number | undefined {
  return c.rows.find((r) => r.client === client)?.rps
}

function errorCell(r: Row): string {
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

function percent(n: number): string {
  return `${fixed(n, 1)}%`
}

/**
 * compare states one target comparison. With every round's figures it takes
 * the median of the per-round ratios (both clients ran in that round, one
 * after the other) and gives their range and the CPU per request ratio the
 * same way; without them, the ratio of the two median rounds.
 */
function compare(row: Row, base: Row, kind: 'ratio' | 'overhead'): [figure: string, detail: string] {
  const rps = paired(row.roundsRps ?? [], base.roundsRps ?? [])
  if (rps === undefined) return [kind === 'ratio' ? ratio(row.rps, base.rps) : percent(overhead(row.rps, base.rps)), '']
  const cpu = paired(row.roundsCpuUs ?? [], base.roundsCpuUs ?? [])
  if (kind === 'ratio') {
    const cpuText = cpu === undefined ? '' : `, CPU/req ${cpu.median.toFixed(2)}×`
    return [`${rps.median.toFixed(2)}×`, ` (rounds ${rps.min.toFixed(2)}–${rps.max.toFixed(2)}×${cpuText})`]
  }
  const cpuText = cpu === undefined ? '' : `, CPU/req ${cpu.median >= 1 ? '+' : ''}${percent((cpu.median - 1) * 100)}`
  return [percent((1 - rps.median) * 100), ` (rounds ${percent((1 - rps.max) * 100)} to ${percent((1 - rps.min) * 100)}${cpuText})`]
}

/**
 * headline states, per case, the ratios the project's targets are written
 * in: createFetch(Transport) against Node's fetch, Transport.roundTrip
 * against undici.request, the leak tracker's and the middleware stack's
 * cost against createFetch(Transport) alone, and Node's fetch over the
 * bridge against Node's fetch over its own dispatcher. Each is the median
 * of the per-round ratios when the rows carry their rounds.
 */
export function headline(results: readonly CaseResult[]): string[] {
  const lines: string[] = []
  for (const c of results) {
    const parts: string[] = []
    for (const [client, baseClient, kind, text] of TARGETS) {
      const row = c.rows.find((r) => r.client === client)
      const base = c.rows.find((r) => r.client === baseClient)
      if (row === undefined || base === undefined || !(base.rps > 0)) continue
      const [figure, detail] = compare(row, base, kind)
      parts.push(text.replace('{}', figure).replace('{d}', detail))
    }
    if (parts.length > 0) lines.push(`- ${c.id}: ${parts.join(', ')}`)
  }
  return lines
}

function thousands(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n)
}

/**
 * warmups states, for each client, its first warm-up (in the rows of the
 * first case the client ran): how many requests in how long, its CPU per
 * request over the first and the last blocks of it, and after how many
 * requests its CPU per request stayed within 5% of the median of that
 * case's rounds: what a user of that client pays before it runs at the
 * speed the table shows.
 */
export function warmups(results: readonly CaseResult[]): string[] {
  const lines: string[] = []
  for (const c of results) {
    for (const r of c.rows) {
      const w = r.firstWarmup
      if (w === undefined) continue
      const blocks = w.cpuUsPerRequest
      const curve = blocks.length === 0 ? '' : `, CPU/req ${fixed(blocks[0]!, 0)} → ${fixed(blocks[blocks.length - 1]!, 0)} µs`
      const steady = w.steadyAfter === undefined ? 'not steady by its end' : `steady after ${thousands(w.steadyAfter)} requests`
      lines.push(`- ${r.client} (${c.id}): ${w.requests} requests in ${(w.ms / 1000).toFixed(1)} s${curve}; ${steady}`)
    }
  }
  return lines
}
