import { clients } from './clients.js'

/** RunSpec is one measured run of one client, in its own process. */
export interface RunSpec {
  client: string
  urls: string[]
  concurrency: number
  warmupMs: number
  durationMs: number
}

/** RunResult is what one run measured. */
export interface RunResult {
  requests: number
  errors: number
  firstError: string | undefined
  rps: number
  p50: number
  p99: number
  cpuUsPerRequest: number
  rssMb: number
}

/** percentile of sorted samples, in the samples' unit. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

/** measure runs `spec`: a warm-up, then `concurrency` loops for `durationMs`, every body read to the end. */
export async function measure(spec: RunSpec): Promise<RunResult> {
  const make = clients[spec.client]
  if (make === undefined) throw new Error(`unknown client ${spec.client}`)
  const client = make()
  const urls = spec.urls
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
        await client.get(url)
        if (record) samples.push(performance.now() - start)
        n++
      } catch (error) {
        if (record) errors++
        firstError ??= String((error as Error)?.cause ?? error)
      }
    }
    return n
  }

  const warmEnd = performance.now() + spec.warmupMs
  await Promise.all(Array.from({ length: spec.concurrency }, () => loop(warmEnd, false)))
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const end = t0 + spec.durationMs
  const counts = await Promise.all(Array.from({ length: spec.concurrency }, () => loop(end, true)))
  const seconds = (performance.now() - t0) / 1000
  const used = process.cpuUsage(cpu)
  const requests = counts.reduce((a, b) => a + b, 0)
  const rssMb = process.memoryUsage.rss() / 1024 / 1024
  await client.close()
  const sorted = Float64Array.from(samples).sort()
  return {
    requests,
    errors,
    firstError,
    rps: requests / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuUsPerRequest: requests === 0 ? Number.NaN : (used.user + used.system) / requests,
    rssMb,
  }
}

// Entry point of the per-run child process: spec in argv, result on stdout.
if (process.argv[1]?.endsWith('measure.js') && process.argv[2] !== undefined) {
  const spec = JSON.parse(process.argv[2]) as RunSpec
  measure(spec).then(
    (result) => {
      process.stdout.write(JSON.stringify(result))
      process.exit(0)
    },
    (error: unknown) => {
      process.stderr.write(String((error as Error)?.stack ?? error))
      process.exit(1)
    },
  )
}
