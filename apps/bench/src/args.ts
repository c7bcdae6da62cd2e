import { CASES, type Case } from './cases.js'
import { CLIENTS, findClient, type ClientEntry } from './clients/index.js'
import type { HeapProfRequest } from './heap-profile.js'

/** BenchOptions is what the command line asked for. */
export interface BenchOptions {
  clients: ClientEntry[]
  cases: Case[]
  /** rounds is how many times every client runs every case; the median round is reported. */
  rounds: number
  /** durationMs is how long one measured run lasts, in ms. */
  durationMs: number
  /** warmupMs is how long a client runs unmeasured before each run, in ms. */
  warmupMs: number
  /**
   * firstWarmupMs is how long each client runs unmeasured before its first
   * run at least, in ms (see `firstWarmupRequests`).
   */
  firstWarmupMs: number
  /**
   * firstWarmupRequests is how many requests each client makes unmeasured
   * before its first run at least: its first warm-up ends once both this
   * and `firstWarmupMs` are reached. The JIT keeps compiling a client's hot
   * paths for thousands of requests, so a count, the same for every
   * client, brings each to its steady speed where a time would leave the
   * slower clients colder. 0: the first warm-up is timed only.
   */
  firstWarmupRequests: number
  json: boolean
  /** pin puts the server and the clients on a CPU each (taskset), when there are two CPUs or more. */
  pin: boolean
  /** cpuProfDir, when set, is where each client process writes a V8 CPU profile (`node --cpu-prof`) of all its runs. */
  cpuProfDir: string | undefined
  /**
   * heapProf, when set, makes each client process write a sampling heap
   * profile of its runs into `dir` (see heap-profile.ts), with how many
   * requests it made: of every allocation (`--heap-prof`), or of the objects
   * that survived a young-generation GC (`--heap-survivors`).
   */
  heapProf: HeapProfRequest | undefined
  /**
   * node is the Node.js the client processes run on: a major (`24`), an exact
   * version or a path to a `node` binary; undefined is the Node running the
   * bench. The server always runs on the Node running the bench.
   */
  node: string | undefined
}

/**
 * WARMUP_REQUESTS is how many requests every client makes before its first
 * measured run by default: enough for each client at concurrency 1 to be
 * within 5% of its steady CPU per request (see the README's "Warm-up").
 */
export const WARMUP_REQUESTS = 30_000

/** QUICK_WARMUP_REQUESTS is the same for `--quick`, which trades a steady state for a short run. */
export const QUICK_WARMUP_REQUESTS = 1_000

/** USAGE is the help text. */
export const USAGE = `usage: npm run bench -- [--quick] [--clients a,b] [--cases a,b] [--rounds N] [--duration ms] [--warmup ms] [--first-warmup ms] [--warmup-requests N] [--json] [--no-pin] [--node 24|22|x.y.z|path] [--cpu-prof dir] [--heap-prof dir | --heap-survivors dir]
clients: ${CLIENTS.map((c) => c.id).join(', ')}
cases: ${CASES.map((c) => c.id).join(', ')}`

function list<T>(value: string | undefined, all: readonly T[], find: (name: string) => T | undefined, what: string): T[] {
  if (value === undefined) return [...all]
  return value.split(',').map((name) => {
    const found = find(name.trim())
    if (found === undefined) throw new Error(`unknown ${what} "${name}"\n${USAGE}`)
    return found
  })
}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} wants a whole number, got "${value}"`)
  return n
}

/** parseArgs reads the bench's flags from `argv` (without node and the script); it throws on an unknown flag, client or case. */
export function parseArgs(argv: readonly string[]): BenchOptions {
  const values = new Map<string, string | undefined>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"\n${USAGE}`)
    const name = arg.slice(2)
    if (['quick', 'json', 'no-pin'].includes(name)) values.set(name, undefined)
    else if (['clients', 'cases', 'rounds', 'duration', 'warmup', 'first-warmup', 'warmup-requests', 'cpu-prof', 'heap-prof', 'heap-survivors', 'node'].includes(name) && argv[i + 1] !== undefined) values.set(name, argv[++i])
    else throw new Error(`unknown flag or missing value: ${arg}\n${USAGE}`)
  }
  const quick = values.has('quick')
  const heapAll = values.get('heap-prof')
  const heapSurvivors = values.get('heap-survivors')
  if (heapAll !== undefined && heapSurvivors !== undefined) throw new Error(`--heap-prof and --heap-survivors record one profile each: choose one\n${USAGE}`)
  return {
    clients: list(values.get('clients'), CLIENTS, findClient, 'client'),
    cases: list(values.get('cases'), CASES, (id) => CASES.find((c) => c.id === id), 'case'),
    rounds: Math.max(1, positive(values.get('rounds'), quick ? 2 : 5, 'rounds')),
    durationMs: positive(values.get('duration'), quick ? 150 : 400, 'duration'),
    warmupMs: positive(values.get('warmup'), quick ? 50 : 100, 'warmup'),
    firstWarmupMs: positive(values.get('first-warmup'), quick ? 600 : 2000, 'first-warmup'),
    firstWarmupRequests: positive(values.get('warmup-requests'), quick ? QUICK_WARMUP_REQUESTS : WARMUP_REQUESTS, 'warmup-requests'),
    json: values.has('json'),
    pin: !values.has('no-pin'),
    cpuProfDir: values.get('cpu-prof'),
    heapProf: heapAll !== undefined ? { dir: heapAll, survivors: false } : heapSurvivors !== undefined ? { dir: heapSurvivors, survivors: true } : undefined,
    node: values.get('node'),
  }
}
