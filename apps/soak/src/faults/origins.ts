// Issue 18 item 4: a per-host pool (and its cached route) must go when it
// has no connections and no waiters, or a client that talks to many
// origins over time grows without bound. Distinct origins need distinct
// host:port pairs; binding thousands of loopback ports is impractical, so
// the requests go to `http://o<N>.soak.test/` and the Transport's `dial`
// hook connects every one to the same loopback server. The pool key is the
// origin as written, so each is a pool of its own, as with real hosts.
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Size } from '../args.js'
import { transportClient } from '../clients.js'
import { collectGarbage, runPool } from '../pace.js'
import { mib, type Row } from '../row.js'
import { respond, startScriptedServer } from '../servers.js'
import { faultRow } from './common.js'

/** origins: one request to each of `size.origins` origins, then every connection closed. */
export async function origins(size: Size): Promise<Row[]> {
  const server = await startScriptedServer((socket) => respond(socket, 'ok'))
  const client = transportClient({ dial: () => connect(server.port, '127.0.0.1') })
  const { transport } = client
  try {
    collectGarbage()
    const heapBefore = process.memoryUsage().heapUsed
    let failed = 0
    await runPool(size.origins, 16, async (i) => {
      try {
        await (await client.fetch(`http://o${i}.soak.test/`)).text()
      } catch {
        failed++
      }
    })
    transport.closeIdleConnections()
    for (let i = 0; i < 1000; i++) {
      const { active, idle, dialing } = transport.stats().total
      if (active + idle + dialing === 0) break
      await sleep(1)
    }
    collectGarbage()
    const heapAfter = process.memoryUsage().heapUsed
    const started = performance.now()
    const stats = transport.stats()
    const statsMs = performance.now() - started
    const hosts = Object.keys(stats.hosts).length
    const open = stats.total.active + stats.total.idle
    return [
      faultRow(
        client,
        4,
        `${size.origins.toLocaleString('en')} origins, all conns closed`,
        `${failed} failed; stats().hosts has ${hosts.toLocaleString('en')} entries with ${open} conns open; heap ${mib(heapBefore)} → ${mib(heapAfter)}; stats() took ${statsMs.toFixed(1)} ms`,
        'no pool left (0 entries)',
        failed === 0 && open === 0 && hosts === 0,
      ),
    ]
  } finally {
    await client.close()
    await server.close()
  }
}
