import { describeLeak, type Leak } from '@roundtrip/leak-tracker'
import type { CrawlResult, Redirect } from './crawler.js'

/** Report is what the link checker prints (or writes as JSON). */
export interface Report {
  start: string
  transport: string
  interrupted: boolean
  pages: number
  links: number
  broken: Array<{ url: string; status: number | null; error: string | null; foundOn: string[] }>
  redirects: Redirect[]
  /** Per host: connections opened versus requests served (pooled transport only). */
  hosts: Array<{ host: string; connections: number; requests: number }> | null
  /** Each leaked body: what it held (`connection`, `memory`, `unknown`), how it was found, and the tracker's account of it. */
  leaks: Array<{ method: string; url: string; requestedAt: string | null; kind: string; held: string; message: string }>
  durationMs: number
}

/** buildReport turns a crawl into a report. */
export function buildReport(
  start: string,
  transport: string,
  crawl: CrawlResult,
  hosts: Report['hosts'],
  leaks: Leak[],
  durationMs: number,
): Report {
  const broken = crawl.results
    .filter((r) => r.error !== undefined || (r.status !== undefined && r.status >= 400))
    .map((r) => ({ url: r.url, status: r.status ?? null, error: r.error ?? null, foundOn: r.foundOn }))
    .sort((a, b) => a.url.localeCompare(b.url))
  return {
    start,
    transport,
    interrupted: crawl.interrupted,
    pages: crawl.results.filter((r) => r.page).length,
    links: crawl.results.filter((r) => r.status !== undefined || r.error !== undefined).length,
    broken,
    redirects: crawl.redirects,
    hosts,
    leaks: leaks.map((l) => ({ method: l.method, url: l.url, requestedAt: l.requestedAt ?? null, kind: l.kind, held: l.held, message: describeLeak(l) })),
    durationMs: Math.round(durationMs),
  }
}

/** formatReport renders the report for a terminal. */
export function formatReport(report: Report): string {
  const lines: string[] = []
  lines.push(`${report.interrupted ? 'Interrupted: partial report' : 'Done'} in ${report.durationMs} ms (transport: ${report.transport})`)
  lines.push(`Checked ${report.pages} pages and ${report.links} links from ${report.start}`)
  lines.push('', `Broken links (${report.broken.length}):`)
  for (const b of report.broken) {
    lines.push(`  ✗ ${b.url} — ${b.status ?? b.error}`)
    for (const page of b.foundOn) lines.push(`      on ${page}`)
  }
  lines.push('', `Redirects (${report.redirects.length}):`)
  for (const r of report.redirects) lines.push(`  ↪ ${r.from} → ${r.to} (${r.status})`)
  if (report.hosts !== null) {
    lines.push('', 'Connections per host (opened / requests served):')
    for (const h of report.hosts) lines.push(`  ${h.host}: ${h.connections} / ${h.requests}`)
  }
  lines.push('', `Leaked response bodies: ${report.leaks.length === 0 ? 'none' : report.leaks.length}`)
  for (const l of report.leaks) lines.push(`  ! [${l.held}, ${l.kind}] ${l.message}`)
  return lines.join('\n')
}
