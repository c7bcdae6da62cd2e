import type { Client } from './clients/client.js'
import { percentile } from './stats.js'

/** RunSpec is one measured run of one client. */
export interface RunSpec {
  /** urls are the origins' URLs; each loop takes the next one in turn. */
  urls: string[]
  /** proxy is the HTTP proxy the client sends through, if any. */
  proxy?: string | undefined
  /** ca is the certificate the client trusts for a TLS case's server. */
  ca?: string | undefined
  concurrency: number
  /** bodyBytes is the expected body size: a body of another size counts as an error. */
  bodyBytes: number
  warmupMs: number
  durationMs: number
}

/** RunResult is what one run measured. */
export interface RunResult {
  /** requests completed in the measured window, bodies read to the end. */
  requests: number
  errors: number
  /** firstError describes the first error seen (warm-up included), if any. */
  firstError: string | undefined
  rps: number
  /** p50 and p99 are request latencies in ms, from the call to the end of the body. */
  p50: number
  p99: number
  /** cpuUsPerRequest is the process's user + system CPU time per request, in µs. */
  cpuUsPerRequest: number
  /** rssMb is the process's resident set size at the end of the run, in MiB. */
  rssMb: number
  /** connections is how many TLS connections the run opened, counted by the server (TLS cases only). */
  connections?: number
}

function describe(error: unknown): string {
  const cause = (error as Error | undefined)?.cause
  return String(cause === undefined ? error : `${String(error)} (cause: ${String(cause)})`)
}

/**
 * measure drives `client` for a warm-up, then for `durationMs` with
 * `concurrency` loops, each issuing its next request as soon as the previous
 * body has been read to the end. A rejection, or a body of the wrong size,
 * counts as an error; the loop goes on.
 */
export async function measure(client: Client, spec: RunSpec): Promise<RunResult> {
  const { urls } = spec
  let next = 0
  let errors = 0
  let firstError: string | undefined
  const samples: number[] = []

  async function loop(until: number, record: boolean): Promise<number> {
    let n = 0
    while (performance.now() < until) {
      const url = urls[next++ % urls.length]!
      const start = performance.now()
      try {
        const bytes = await client.get(url)
        if (bytes !== spec.bodyBytes) throw new Error(`short body: ${bytes} of ${spec.bodyBytes} bytes from ${url}`)
        if (record) samples.push(performance.now() - start)
        n++
      } catch (error) {
        if (record) errors++
        firstError ??= describe(error)
      }
    }
    return n
  }

  const loops = (until: number, record: boolean): Promise<number[]> =>
    Promise.all(Array.from({ length: spec.concurrency }, () => loop(until, record)))
  await loops(performance.now() + spec.warmupMs, false)
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const counts = await loops(t0 + spec.durationMs, true)
  const seconds = (performance.now() - t0) / 1000
  const used = process.cpuUsage(cpu)
  const requests = counts.reduce((a, b) => a + b, 0)
  const sorted = Float64Array.from(samples).sort()
  return {
    requests,
    errors,
    firstError,
    rps: requests / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuUsPerRequest: requests === 0 ? Number.NaN : (used.user + used.system) / requests,
    rssMb: process.memoryUsage.rss() / 1024 / 1024,
  }
}
