// Issue 18 item 3: a server closes an idle keep-alive connection outright
// right after its response (no hint), as the server did. A POST
// sent next may be dispatched onto that connection. If none of it was
// written it must be retried whatever its method (Go's
// `nothingWrittenError`); one that was written may fail (it is not
// replayable). The Transport's `wroteRequest` trace hook tells which.
//
// Two timings: the POST one turn of the event loop after the GET's body
// was read (the client has seen the close, the pool has not: nothing is
// written), and the POST at once (the close is still in the socket's
// buffer: the POST is written, then fails; Node's fetch, slower to hand
// the body over, sees the close first).
import { withContext } from '@roundtrip/core'
import type { Transport } from '@roundtrip/transport'
import type { Size } from '../args.js'
import { errorCode, type ClientFactory, type SoakClient } from '../clients.js'
import { tally, type Row } from '../row.js'
import { startClosingServer } from '../servers.js'
import { eachClient, faultRow } from './common.js'

/** unwrittenRetry: `unwrittenTries` times a GET, then a POST without a key, one turn later and at once. */
export async function unwrittenRetry(size: Size, clients: readonly ClientFactory[]): Promise<Row[]> {
  const rows: Row[] = []
  for (const timing of ['one turn later', 'at once'] as const) rows.push(...(await eachClient(clients, (client) => tries(size, client, timing))))
  return rows
}

async function tries(size: Size, client: SoakClient, timing: 'one turn later' | 'at once'): Promise<Row> {
  {
    const server = await startClosingServer(() => 0, 'destroy')
    const failures: { code: string; written: boolean }[] = []
    // Only the Transport has the hook; other clients' failures are counted, not classified.
    const transport = (client as { transport?: Transport }).transport
    try {
      for (let i = 0; i < size.unwrittenTries; i++) {
        await (await client.fetch(`${server.origin}/get`)).text()
        if (timing === 'one turn later') await new Promise((resolve) => setImmediate(resolve))
        let written = false
        const init = { method: 'POST', body: 'payload' }
        try {
          const post =
            transport !== undefined
              ? await transport.roundTrip(withContext(new Request(`${server.origin}/post`, init), { trace: { wroteRequest: () => void (written = true) } }))
              : await client.fetch(`${server.origin}/post`, init)
          await post.text()
        } catch (error) {
          failures.push({ code: errorCode(error), written })
        }
      }
    } finally {
      await server.close()
    }
    const unsent = failures.filter((f) => !f.written).length
    const classified = transport !== undefined ? `, ${unsent} of them never written (no wroteRequest)` : ''
    return faultRow(
      client,
      3,
      `POST ${timing} on a conn the server closed`,
      `${size.unwrittenTries} tries: ${failures.length} POSTs failed (${tally(failures.map((f) => f.code))})${classified}`,
      'no failed POST that was never written',
      unsent === 0,
    )
  }
}
