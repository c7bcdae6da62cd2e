import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { clients } from './clients.js'
import type { RunResult, RunSpec } from './measure.js'
import { headline, markdown, type CaseResult } from './report.js'
import type { ServerKind } from './server.js'

interface Case {
  name: string
  server: ServerKind
  origins: number
  bodyBytes: number
  concurrency: number
}

const CASES: Record<string, Case> = {
  c1: { name: 'small body, concurrency 1', server: 'raw', origins: 1, bodyBytes: 11, concurrency: 1 },
  c16: { name: 'small body, concurrency 16', server: 'raw', origins: 1, bodyBytes: 11, concurrency: 16 },
  c64: { name: 'small body, concurrency 64', server: 'raw', origins: 1, bodyBytes: 11, concurrency: 64 },
  'c64-http': { name: 'small body, concurrency 64, node:http server', server: 'http', origins: 1, bodyBytes: 11, concurrency: 64 },
  '64k': { name: '64 KiB body, concurrency 16', server: 'raw', origins: 1, bodyBytes: 64 * 1024, concurrency: 16 },
  origins: { name: '200 origins, concurrency 64', server: 'raw', origins: 200, bodyBytes: 11, concurrency: 64 },
}

function flag(name: string): string | undefined {
  const args = process.argv.slice(2)
  const i = args.indexOf(`--${name}`)
  if (i < 0) return undefined
  const value = args[i + 1]
  return value === undefined || value.startsWith('--') ? 'true' : value
}

const quick = flag('quick') !== undefined
const rounds = Number(flag('rounds') ?? (quick ? 2 : 3))
const durationMs = Number(flag('duration') ?? (quick ? 300 : 1000))
const warmupMs = Number(flag('warmup') ?? (quick ? 150 : 300))
const clientNames = (flag('clients')?.split(',') ?? Object.keys(clients)).filter((c) => c in clients)
const caseNames = (flag('cases')?.split(',') ?? Object.keys(CASES)).filter((c) => c in CASES)
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url))

// With two CPUs or more, the server and the client each get a CPU of their
// own (taskset): otherwise the scheduler sometimes puts both on one CPU for a
// whole run, and that run measures the scheduler, not the client.
const pin = flag('no-pin') === undefined && cpus().length >= 2 && existsSync('/usr/bin/taskset')
function command(cpu: number, args: string[]): [string, string[]] {
  return pin ? ['/usr/bin/taskset', ['-c', String(cpu), process.execPath, ...args]] : [process.execPath, args]
}

async function startServer(c: Case): Promise<{ urls: string[]; stop(): void }> {
  const [file, args] = command(1, [here('./server.js'), c.server, String(c.origins), String(c.bodyBytes)])
  const child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const { ports } = await new Promise<{ ports: number[] }>((resolve) => child.once('message', (m) => resolve(m as { ports: number[] })))
  return { urls: ports.map((p) => `http://127.0.0.1:${p}/`), stop: () => child.kill() }
}

function runOnce(spec: RunSpec): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [file, args] = command(0, [here('./measure.js'), JSON.stringify(spec)])
    execFile(file, args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${spec.client}: ${stderr || error.message}`))
      else resolve(JSON.parse(stdout) as RunResult)
    })
  })
}

function median(results: RunResult[]): RunResult {
  const sorted = [...results].sort((a, b) => a.rps - b.rps)
  const mid = sorted[Math.floor(sorted.length / 2)]!
  return { ...mid, errors: results.reduce((n, r) => n + r.errors, 0) }
}

async function main(): Promise<void> {
  const results: CaseResult[] = []
  for (const key of caseNames) {
    const c = CASES[key]!
    const server = await startServer(c)
    const runs = new Map<string, RunResult[]>(clientNames.map((n) => [n, []]))
    try {
      for (let round = 0; round < rounds; round++) {
        // Interleaved: every client once per round, the order rotated each round.
        const order = clientNames.map((_, i) => clientNames[(i + round) % clientNames.length]!)
        for (const client of order) {
          const result = await runOnce({ client, urls: server.urls, concurrency: c.concurrency, warmupMs, durationMs })
          runs.get(client)!.push(result)
          if (flag('json') === undefined) process.stderr.write('.')
        }
      }
    } finally {
      server.stop()
    }
    results.push({ name: c.name, rows: clientNames.map((client) => ({ client, ...median(runs.get(client)!) })) })
    if (flag('json') === undefined) process.stderr.write(` ${c.name}\n`)
  }
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}${pin ? ', server and client pinned to a CPU each' : ''}`
  if (flag('json') !== undefined) {
    process.stdout.write(JSON.stringify({ machine, rounds, durationMs, results }, null, 2) + '\n')
    return
  }
  process.stdout.write(`\nMachine: ${machine}; ${rounds} rounds of ${durationMs} ms per client and case (median shown).\n\n`)
  process.stdout.write(markdown(results))
  process.stdout.write('\nHeadline:\n' + headline(results).join('\n') + '\n')
}

void main()
