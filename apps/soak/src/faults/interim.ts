// Issue 18 item 1: a 1xx interim response (102 Processing, 103 Early Hints,
// an unsolicited 100 Continue) before the final 200 must be skipped and the
// final response delivered, as Node's fetch and Go do.
import type { ClientFactory } from '../clients.js'
import type { Row } from '../row.js'
import { respond, responseHead, startScriptedServer } from '../servers.js'
import { attempt, describeOutcome, eachClient, faultRow } from './common.js'

const INTERIM = [
  { status: 102, reason: 'Processing', headers: {} },
  { status: 103, reason: 'Early Hints', headers: { link: '</style.css>; rel=preload; as=style' } },
  { status: 100, reason: 'Continue', headers: {} },
]

/** interim: one row per interim status, the final response 5 ms after the interim one. */
export async function interim(clients: readonly ClientFactory[]): Promise<Row[]> {
  const timers = new Set<NodeJS.Timeout>()
  const server = await startScriptedServer((socket, request) => {
    const status = Number(request.path.slice(1))
    const first = INTERIM.find((i) => i.status === status)!
    socket.write(responseHead(first.status, first.reason, first.headers))
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!socket.destroyed) respond(socket, 'ok')
    }, 5)
    timers.add(timer)
  })
  try {
    const rows: Row[] = []
    for (const { status } of INTERIM) {
      rows.push(
        ...(await eachClient(clients, async (client) => {
          const outcome = await attempt(client, `${server.origin}/${status}`)
          const ok = outcome.status === 200 && outcome.body?.toString() === 'ok'
          return faultRow(client, 1, `1xx ${status} before the 200`, describeOutcome(outcome), '200, "ok"', ok)
        })),
      )
    }
    return rows
  } finally {
    for (const timer of timers) clearTimeout(timer)
    await server.close()
  }
}
