// A client's process: `node worker.js <client id>` loads that one client,
// then runs each RunSpec it receives over IPC with a fresh instance of the
// client and answers with the RunResult.
import { findClient } from './clients/index.js'
import { measure, type RunSpec } from './measure.js'

async function main(id: string): Promise<void> {
  const entry = findClient(id)
  if (entry === undefined) throw new Error(`unknown client ${id}`)
  const create = await entry.load()
  process.on('message', (spec: RunSpec) => {
    // No forced GC between runs: a forced full GC shrinks V8's young
    // generation, and the next few hundred ms of allocation-heavy clients
    // (fetch) then run up to 30% slower than in a process that has been busy.
    const client = create()
    measure(client, spec)
      .then(async (result) => {
        await client.close()
        process.send!({ result })
      })
      .catch((error: unknown) => process.send!({ error: String((error as Error)?.stack ?? error) }))
  })
  process.on('disconnect', () => process.exit(0))
  process.send!({ ready: true })
}

if (process.send !== undefined) void main(process.argv[2] ?? '')
