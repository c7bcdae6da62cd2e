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
  /** warmupMs is how long the run's warm-up lasts at least, in ms. */
  warmupMs: number
  /**
   * warmupRequests is how many requests the warm-up completes at least
   * (it ends once both this and `warmupMs` are reached); 0 or undefined:
   * the warm-up is timed only.
   */
  warmupRequests?: number | undefined
  durationMs: number
}

/** WARMUP_BLOCK is how many warm-up requests each figure of `Warmup.cpuUsPerRequest` covers. */
export const WARMUP_BLOCK = 500

/** Warmup is what a run's warm-up did: how long, and how the CPU per request went down as the JIT compiled the client. */
export interface Warmup {
  /** requests completed during the warm-up. */
  requests: number
  /** ms the warm-up lasted. */
  ms: number
  /** cpuUsPerRequest is the process's CPU µs per request of each block of `WARMUP_BLOCK` requests, in order (a last partial block left out). */
  cpuUsPerRequest: number[]
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
  /** warmup is what the warm-up before the measured window did. */
  warmup: Warmup
}

function describe(error: unknown): string {
  const cause = (error as Error | undefined)?.cause
  return String(cause === undefined ? error : `${String(error)} (cause: ${String(cause)})`)
}

/**
 * measure drives `client` for a warm-up (until both `warmupMs` and
 * `warmupRequests` are reached), then for `durationMs` with
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

  // The warm-up counts attempts, failed ones too, so that a client that
  // fails every request cannot hold a request-counted warm-up forever.
  let attempts = 0
  const blocks: number[] = []
  let blockCpu = process.cpuUsage()
  const attempted = (): void => {
    if (++attempts % WARMUP_BLOCK !== 0) return
    const used = process.cpuUsage(blockCpu)
    blocks.push((used.user + used.system) / WARMUP_BLOCK)
    blockCpu = process.cpuUsage()
  }

  async function loop(more: () => boolean, record: boolean): Promise<number> {
    let n = 0
    while (more()) {
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
      if (!record) attempted()
    }
    return n
  }

  const loops = (more: () => boolean, record: boolean): Promise<number[]> =>
    Promise.all(Array.from({ length: spec.concurrency }, () => loop(more, record)))
  const w0 = performance.now()
  const warmUntil = w0 + spec.warmupMs
  const atLeast = spec.warmupRequests ?? 0
  await loops(() => attempts < atLeast || performance.now() < warmUntil, false)
  const warmup: Warmup = { requests: attempts, ms: performance.now() - w0, cpuUsPerRequest: blocks }
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const until = t0 + spec.durationMs
  const counts = await loops(() => performance.now() < until, true)
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
    warmup,
  }
}
