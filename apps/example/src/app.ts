import { compose, type RoundTripper } from '@roundtrip/core'
import { createFetch, fromFetch, getRoundTripError } from '@roundtrip/fetch'
import { leakTracker, type Leak } from '@roundtrip/leak-tracker'
import { retry, timeout } from '@roundtrip/middleware'
import { Transport } from '@roundtrip/transport'
import { Crawler } from './crawler.js'
import { leakOnPurpose } from './leak-on-purpose.js'
import { buildReport, type Report } from './report.js'

/** CheckOptions configure one run of the link checker. */
export interface CheckOptions {
  start: string
  transport: 'pooled' | 'node-fetch'
  depth: number
  maxPages: number
  concurrency: number
  /** Connections per host for the pooled transport. */
  connectionsPerHost: number
  /** Deadline for each URL checked, in ms, retries included (0 = none). */
  timeout: number
  signal?: AbortSignal
  onProgress?: (progress: { checked: number; queued: number; url: string }) => void
  /** After the crawl, leak response bodies on purpose (see `leakOnPurpose`), to show the leak tracker's reports. */
  leak?: boolean
  /** Called as each phase begins: fetching the start page, crawling, leaking on purpose. */
  onPhase?: (phase: 'start' | 'crawl' | 'leak') => void
}

/** CheckError is a failure that ends the run with a message and an exit code. */
export class CheckError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
    this.name = 'CheckError'
  }
}

/** parseStart checks a start URL: http or https, or a CheckError with exit code 2. */
export function parseStart(url: string): URL {
  let start: URL
  try {
    start = new URL(url)
  } catch {
    throw new CheckError(`not a valid URL: ${url}`, 2)
  }
  if (start.protocol !== 'http:' && start.protocol !== 'https:') throw new CheckError(`only http and https URLs can be checked: ${url}`, 2)
  return start
}

/** interrupted is the error of a run stopped (SIGINT) before it had anything to report. */
function interrupted(): CheckError {
  return new CheckError('interrupted', 130)
}

/**
 * check runs the link checker: it builds the client from the roundtrip
 * packages (the pooled Transport or Node's fetch underneath, the leak
 * tracker, one deadline per URL over up to three attempts, createFetch on
 * top), crawls, and reports.
 */
export async function check(options: CheckOptions): Promise<Report> {
  const start = parseStart(options.start)

  const transport = new Transport({ maxConnsPerHost: options.connectionsPerHost, connectTimeout: 5_000, responseHeaderTimeout: 15_000 })
  const leaks: Leak[] = []
  // breakDeadlocks: a request waiting for a connection held by a body unread for a second gets it.
  const tracker = leakTracker({ maxAge: 60_000, reclaim: true, breakDeadlocks: 1_000, captureStack: 'caller', onLeak: (leak) => leaks.push(leak) })
  const base: RoundTripper = options.transport === 'node-fetch' ? fromFetch(globalThis.fetch) : transport
  // timeout outside retry: one deadline per URL, attempts and backoff waits included.
  const fetch = createFetch(compose(base, tracker, timeout(options.timeout), retry({ limit: 2 })))
  const began = performance.now()
  try {
    // The start page must answer with HTML, or there is nothing to check.
    let first: Response
    options.onPhase?.('start')
    try {
      first = await fetch(start, options.signal === undefined ? {} : { signal: options.signal })
    } catch (error) {
      if (options.signal?.aborted) throw interrupted()
      const cause = getRoundTripError(error) ?? (error as { cause?: { message?: string } }).cause
      throw new CheckError(`cannot reach ${start.href}: ${cause?.message ?? (error as Error).message}`, 1)
    }
    const type = first.headers.get('content-type') ?? ''
    await first.body?.cancel()
    if (!first.ok) throw new CheckError(`the start page ${start.href} answered ${first.status}`, 1)
    if (!type.includes('text/html')) throw new CheckError(`the start page ${start.href} is not HTML (content-type: ${type || 'none'})`, 1)

    const crawlOptions: ConstructorParameters<typeof Crawler>[1] = { depth: options.depth, maxPages: options.maxPages, concurrency: options.concurrency }
    if (options.signal !== undefined) crawlOptions.signal = options.signal
    if (options.onProgress !== undefined) crawlOptions.onProgress = options.onProgress
    options.onPhase?.('crawl')
    const crawl = await new Crawler(fetch, crawlOptions).crawl(first.url)
    let leaked: Response[] = []
    if (options.leak === true && !crawl.interrupted) {
      options.onPhase?.('leak')
      try {
        leaked = await leakOnPurpose(fetch, start.origin, options.connectionsPerHost, options.signal)
      } catch (error) {
        if (!options.signal?.aborted) throw error
        crawl.interrupted = true
      }
    }
    const stats = transport.stats()
    const hosts =
      options.transport === 'pooled'
        ? Object.entries(stats.hosts).map(([host, s]) => ({ host, connections: s.dials, requests: s.requests }))
        : null
    leaks.push(...tracker.outstanding())
    await Promise.all(leaked.map((response) => response.body?.cancel()))
    return buildReport(start.href, options.transport, crawl, hosts, leaks, performance.now() - began)
  } finally {
    tracker.dispose()
    transport.destroy()
    await transport.close()
  }
}
