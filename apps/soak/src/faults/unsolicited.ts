// Issue 18 item 9: a server that sends an extra response 2 ms after each
// real one, to a client that sends its requests back to back. The next
// request is then usually in flight when the extra response comes, and any
// client may take that for its answer (counted, allowed). What must not
// happen is the shift that follows: the real answer arriving on a
// connection with nothing in flight and being handed to the request after,
// so that responses carry another request's body. Go closes a connection
// that receives bytes while idle; so must the Transport.
import type { Size } from '../args.js'
import type { ClientFactory } from '../clients.js'
import { errorCode } from '../clients.js'
import { tally, type Row } from '../row.js'
import { respond, requestId, startScriptedServer } from '../servers.js'
import { eachClient, faultRow } from './common.js'

const EXTRA = 'unsolicited'

/** unsolicited: `unsolicitedRequests` back-to-back GETs, each answered with its id, then an extra response. */
export async function unsolicited(size: Size, clients: readonly ClientFactory[]): Promise<Row[]> {
  const timers = new Set<NodeJS.Timeout>()
  const server = await startScriptedServer((socket, request) => {
    respond(socket, String(requestId(request.headers)))
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!socket.destroyed) respond(socket, EXTRA)
    }, 2)
    timers.add(timer)
  })
  try {
    return await eachClient(clients, async (client) => {
      let extra = 0
      let other = 0
      const failures: string[] = []
      for (let id = 0; id < size.unsolicitedRequests; id++) {
        try {
          const response = await client.fetch(`${server.origin}/${id}`, { headers: { 'x-soak-id': String(id) } })
          const body = await response.text()
          if (body === EXTRA) extra++
          else if (body !== String(id)) other++
        } catch (error) {
          failures.push(errorCode(error))
        }
      }
      return faultRow(
        client,
        9,
        'unsolicited response after each one',
        `${size.unsolicitedRequests} requests: ${other} carried another request's body, ${extra} got the unsolicited response, ${failures.length} failed (${tally(failures)})`,
        "no response with another request's body",
        other === 0,
      )
    })
  } finally {
    for (const timer of timers) clearTimeout(timer)
    await server.close()
  }
}
