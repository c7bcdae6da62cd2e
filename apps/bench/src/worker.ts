// A client's process: `node worker.js <client id> [heap profile dir all|survivors]` loads
// that one client, then runs each RunSpec it receives over IPC with a fresh
// instance of the client and answers with the RunResult.
import { findClient, type Client } from './clients/index.js'
import { startHeapProfile, type HeapProfile, type HeapProfRequest } from './heap-profile.js'
import { measure, type RunSpec } from './measure.js'

async function main(id: string, heapProf: HeapProfRequest | undefined): Promise<void> {
  const entry = findClient(id)
  if (entry === undefined) throw new Error(`unknown client ${id}`)
  const create = await entry.load()
  // Profiled, the profile starts after the first run (whose long warm-up
  // loads and compiles the client's code) and counts every request from
  // then on, warm-ups too, so that its bytes can be divided by the requests
  // that allocated them.
  let requests = 0
  let runs = 0
  let profile: HeapProfile | undefined
  const counted = (client: Client): Client => (profile === undefined ? client : { get: (url) => (requests++, client.get(url)), close: () => client.close() })
  process.on('message', (spec: RunSpec) => {
    // No forced GC between runs: a forced full GC shrinks V8's young
    // generation, and the next few hundred ms of allocation-heavy clients
    // (fetch) then run up to 30% slower than in a process that has been busy.
    const client = create(spec.proxy, spec.ca)
    measure(counted(client), spec)
      .then(async (result) => {
        await client.close()
        if (heapProf !== undefined && runs++ === 0) profile = await startHeapProfile(heapProf.survivors)
        process.send!({ result })
      })
      .catch((error: unknown) => process.send!({ error: String((error as Error)?.stack ?? error) }))
  })
  process.on('disconnect', () => {
    if (profile === undefined) {
      if (heapProf !== undefined) process.stderr.write(`client ${id}: no heap profile: it starts after the first run, and there was only one\n`)
      process.exit(0)
    }
    profile
      .stop(heapProf!.dir, id, requests)
      .catch((error: unknown) => process.stderr.write(`client ${id}: no heap profile: ${String(error)}\n`))
      .finally(() => process.exit(0))
  })
  process.send!({ ready: true })
}

const [, , clientId = '', heapDir, heapKind] = process.argv
if (process.send !== undefined) void main(clientId, heapDir === undefined ? undefined : { dir: heapDir, survivors: heapKind === 'survivors' })
