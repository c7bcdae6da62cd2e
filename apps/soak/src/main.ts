// `npm run soak -- [--size small|full] [--only scenario] [--compare]`: every
// scenario against its loopback servers, one line of figures per case.
import { cpus } from 'node:os'
import { parseArgs, type Scenario, type Size } from './args.js'
import { clientsFor, type ClientFactory } from './clients.js'
import { formatRow, type Row } from './row.js'
import { aborts } from './aborts.js'
import { faults } from './faults/index.js'
import { staleRace } from './stale-race.js'

/** Each scenario hands its rows to `onRow` as they are measured (a full run takes minutes). */
const RUNNERS: Record<Scenario, (size: Size, clients: ClientFactory[], onRow: (row: Row) => void) => Promise<unknown>> = {
  'stale-race': staleRace,
  aborts: async (size, _clients, onRow) => (await aborts(size)).forEach(onRow),
  faults,
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2))
  const clients = clientsFor(options.compare)
  process.stdout.write(`soak, size ${options.size.name}, node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}\n`)
  let failed = 0
  for (const scenario of options.only) {
    const started = performance.now()
    await RUNNERS[scenario](options.size, clients, (row) => {
      if (row.ok === false) failed++
      process.stdout.write(`${formatRow(row)}\n`)
    })
    process.stdout.write(`     ${scenario}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
  }
  process.stdout.write(`${failed} row(s) not as expected\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exitCode = 1
})
