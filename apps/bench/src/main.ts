// `npm run bench -- [flags]`: every selected client against every selected
// case, interleaved and repeated; the median round of each is reported.
import { cpus } from 'node:os'
import { parseArgs, type BenchOptions } from './args.js'
import { WARMUP_BLOCK, type RunResult } from './measure.js'
import { steadyAfter } from './steady.js'
import { canPin, startServer, startWorker, type WorkerProcess } from './processes.js'
import { headline, markdown, warmups, type CaseResult, type Row } from './report.js'
import { readProfiles, table } from './heap-summary.js'
import { median, medianBy, spread } from './stats.js'
import { resolveNode, type ClientNode } from './node.js'
import { versions } from './versions.js'

function medianRun(runs: RunResult[]): Omit<RunResult, 'warmup'> & { spreadPct: number; roundsRps: number[]; roundsCpuUs: number[] } {
  // The median round by throughput stands for the client; errors are those of every round.
  const { warmup: _, ...mid } = medianBy(runs, (r) => r.rps)!
  const errors = runs.reduce((n, r) => n + r.errors, 0)
  const firstError = runs.find((r) => r.firstError !== undefined)?.firstError
  const roundsRps = runs.map((r) => Math.round(r.rps))
  const roundsCpuUs = runs.map((r) => Math.round(r.cpuUsPerRequest * 10) / 10)
  return { ...mid, errors, firstError, spreadPct: spread(roundsRps, mid.rps), roundsRps, roundsCpuUs }
}

async function bench(options: BenchOptions, pin: boolean, node: ClientNode): Promise<CaseResult[]> {
  const { clients, rounds } = options
  const workers = new Map<string, WorkerProcess>()
  const progress = (text: string): void => void (options.json || process.stderr.write(text))
  try {
    for (const c of clients) workers.set(c.id, await startWorker(c.id, { pin, execPath: node.execPath, cpuProfDir: options.cpuProfDir, heapProf: options.heapProf }))
    const results: CaseResult[] = []
    const warmed = new Set<string>()
    for (const c of options.cases) {
      const server = await startServer(c, pin)
      // A proxy case runs only the clients that take a proxy; a TLS case, those that take a CA.
      const clients =
        c.proxy === true ? options.clients.filter((client) => client.proxy === true) : c.tls === true ? options.clients.filter((client) => client.tls === true) : options.clients
      const runs = new Map<string, RunResult[]>(clients.map((client) => [client.id, []]))
      const firstHere = new Set(clients.filter((client) => !warmed.has(client.id)).map((client) => client.id))
      try {
        for (let round = 0; round < rounds; round++) {
          // Interleaved: every client once per round, the order rotated each round.
          for (let i = 0; i < clients.length; i++) {
            const client = clients[(i + round) % clients.length]!
            // A client's first run is in the first case it runs (a proxy or TLS case runs only some clients).
            const first = !warmed.has(client.id)
            warmed.add(client.id)
            const warmupMs = first ? options.firstWarmupMs : options.warmupMs
            const warmupRequests = first ? options.firstWarmupRequests : 0
            const spec = { urls: server.urls, proxy: server.proxy, ca: server.ca, concurrency: c.concurrency, bodyBytes: c.bodyBytes, warmupMs, warmupRequests, durationMs: options.durationMs }
            const before = c.tls === true ? await server.connections() : 0
            const result = await workers.get(client.id)!.run(spec)
            if (c.tls === true) result.connections = (await server.connections()) - before
            runs.get(client.id)!.push(result)
            progress('.')
          }
        }
      } finally {
        server.stop()
      }
      const rows = clients.map((client): Row => {
        const row = { client: client.label, ...medianRun(runs.get(client.id)!) }
        // The case of a client's first run carries its first warm-up, and when it reached the CPU per request of its rounds.
        if (!firstHere.has(client.id)) return row
        const warmup = runs.get(client.id)![0]!.warmup
        const steady = steadyAfter(warmup.cpuUsPerRequest, WARMUP_BLOCK, median(row.roundsCpuUs))
        return { ...row, firstWarmup: { ...warmup, steadyAfter: steady } }
      })
      results.push({ id: c.id, title: c.title, rows })
      progress(` ${c.id}\n`)
    }
    return results
  } finally {
    await Promise.all([...workers.values()].map((worker) => worker.stop()))
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2))
  const pin = options.pin && canPin()
  const node = resolveNode(options.node)
  const started = performance.now()
  const results = await bench(options, pin, node)
  const seconds = Math.round((performance.now() - started) / 1000)
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}${pin ? ' (server and clients pinned to a CPU each)' : ''}; ${versions(node)}`
  const first = `${options.firstWarmupRequests} requests and ${options.firstWarmupMs} ms at least before a client's first run`
  const setup = `${options.rounds} rounds of ${options.durationMs} ms (after ${options.warmupMs} ms warm-up; ${first}) per client and case, median shown; ${seconds} s in all`
  if (options.json) {
    process.stdout.write(JSON.stringify({ machine, setup, rounds: options.rounds, durationMs: options.durationMs, firstWarmupRequests: options.firstWarmupRequests, results }, null, 2) + '\n')
    return
  }
  process.stdout.write(`\nMachine: ${machine}.\n${setup}.\n\n${markdown(results)}\nHeadline:\n\n${headline(results).join('\n')}\n`)
  const warm = warmups(results)
  if (warm.length > 0) process.stdout.write(`\nFirst warm-up (in the first case a client ran; CPU µs per request of its first and last ${WARMUP_BLOCK} requests, and when it stayed within 5% of the median of that case's rounds):\n\n${warm.join('\n')}\n`)
  const heap = options.heapProf
  if (heap !== undefined) {
    // The profiles are written as the client processes exit, which bench() awaited.
    const kind = heap.survivors ? 'outlived a young-generation GC' : 'allocated'
    process.stdout.write(`\nBytes per request ${kind} (sampling heap profiles in ${heap.dir}; per function: node apps/bench/dist/heap-summary.js ${heap.dir}):\n\n${table(await readProfiles([heap.dir]))}`)
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
