/** Size gives every scenario its parameters. */
export interface Size {
  name: 'small' | 'full'
  /** Requests per stale-race case (each of sequential and concurrent, for each method). */
  staleRequests: number
  /** Requests in flight in the concurrent stale-race cases. */
  staleConcurrency: number
  /** Requests aborted in the aborts scenario. */
  aborts: number
  /** Largest response body in the aborts scenario, in bytes. */
  abortMaxBody: number
  /** Decoded size of the body read slowly (gzip and identity), in bytes. */
  slowBodyBytes: number
  /** Decoded size of the gzip body aborted part-way, and the point of the abort, in bytes. */
  abortGzipBytes: number
  abortGzipAt: number
  /** Distinct origins for the per-host pool check. */
  origins: number
  /** Sequential requests against the server that sends unsolicited responses. */
  unsolicitedRequests: number
  /** POSTs sent onto a connection the server has just closed. */
  unwrittenTries: number
}

const MiB = 1024 * 1024

/** SIZES: `small` runs every scenario in a few seconds (CI); `full` is the size issue 18 quotes. */
export const SIZES: Record<Size['name'], Size> = {
  small: {
    name: 'small',
    staleRequests: 100,
    staleConcurrency: 32,
    aborts: 200,
    abortMaxBody: MiB,
    slowBodyBytes: 16 * MiB,
    abortGzipBytes: 32 * MiB,
    abortGzipAt: MiB,
    origins: 200,
    unsolicitedRequests: 90,
    unwrittenTries: 30,
  },
  full: {
    name: 'full',
    staleRequests: 10_000,
    staleConcurrency: 32,
    aborts: 10_000,
    abortMaxBody: MiB,
    slowBodyBytes: 64 * MiB,
    abortGzipBytes: 256 * MiB,
    abortGzipAt: 5 * MiB,
    origins: 20_000,
    unsolicitedRequests: 1_000,
    unwrittenTries: 30,
  },
}

/** SCENARIOS are the names `--only` accepts. */
export const SCENARIOS = ['stale-race', 'aborts', 'faults'] as const
export type Scenario = (typeof SCENARIOS)[number]

/** SoakOptions is what the command line asked for. */
export interface SoakOptions {
  size: Size
  only: Scenario[]
  /** Add Node's global fetch and undici's fetch as comparison columns. */
  compare: boolean
}

/** USAGE is the help text. */
export const USAGE = `usage: npm run soak -- [--size small|full] [--only ${SCENARIOS.join('|')}[,…]] [--compare]`

/** parseArgs reads the soak's flags from `argv` (without node and the script); it throws on an unknown flag or value. */
export function parseArgs(argv: readonly string[]): SoakOptions {
  let size: Size = SIZES.small
  let only: Scenario[] = [...SCENARIOS]
  let compare = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--compare') compare = true
    else if (arg === '--size' && argv[i + 1] !== undefined) {
      const name = argv[++i]!
      if (name !== 'small' && name !== 'full') throw new Error(`--size wants small or full, got "${name}"\n${USAGE}`)
      size = SIZES[name]
    } else if (arg === '--only' && argv[i + 1] !== undefined) {
      only = argv[++i]!.split(',').map((name) => {
        const found = SCENARIOS.find((s) => s === name.trim())
        if (found === undefined) throw new Error(`unknown scenario "${name}"\n${USAGE}`)
        return found
      })
    } else throw new Error(`unknown flag or missing value: ${arg}\n${USAGE}`)
  }
  return { size, only, compare }
}
