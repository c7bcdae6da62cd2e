// Issue 18 item 8: protocol violations must carry a protocol (or decoding)
// code, never `RT_SOCKET_CLOSED`, which code-based retry logic takes for a
// dropped connection and retries. A request-body stream that errors must
// say so (its error in the chain), not pass for a closed socket.
import { gzipSync } from 'node:zlib'
import type { ClientFactory } from '../clients.js'
import { errorText } from '../clients.js'
import type { Row } from '../row.js'
import { startScriptedServer } from '../servers.js'
import { attempt, describeOutcome, eachClient, faultRow, HANG, type Outcome } from './common.js'

const corrupt = ((): Buffer => {
  const gzip = gzipSync(Buffer.from('a body that will not decode. '.repeat(200)))
  for (let i = 20; i < gzip.length - 8; i += 7) gzip[i] = gzip[i]! ^ 0x5a
  return gzip
})()

const RESPONSES: Record<string, Buffer> = {
  'duplicate content-length 2, 2': Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\nok'),
  'content-length with transfer-encoding': Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'),
  'content-length: 2x': Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2x\r\n\r\nok'),
  'corrupt gzip body': Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: ${corrupt.length}\r\n\r\n`), corrupt]),
}

const coded = (o: Outcome): boolean => o.error !== undefined && o.code !== HANG && o.code !== 'RT_SOCKET_CLOSED' && /^RT_/.test(o.code ?? '')

/** protocolCodes: one row per violation, and one for a request body that errors. */
export async function protocolCodes(clients: readonly ClientFactory[]): Promise<Row[]> {
  const ids = Object.keys(RESPONSES)
  const server = await startScriptedServer((socket, request) => {
    const id = decodeURIComponent(request.path.slice(1))
    if (id in RESPONSES) socket.write(RESPONSES[id]!)
  })
  try {
    const rows: Row[] = []
    for (const id of ids) {
      rows.push(
        ...(await eachClient(clients, async (client) => {
          const outcome = await attempt(client, `${server.origin}/${encodeURIComponent(id)}`)
          return faultRow(client, 8, id, describeOutcome(outcome), 'RT_PROTOCOL_ERROR or a decoding code', coded(outcome))
        })),
      )
    }
    rows.push(
      ...(await eachClient(clients, async (client) => {
        const failure = new Error('soak: the request body source failed')
        let sent = 0
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            await new Promise((resolve) => setTimeout(resolve, 1))
            if (sent++ === 0) controller.enqueue(new TextEncoder().encode('first chunk'))
            else controller.error(failure)
          },
        })
        const outcome = await attempt(client, `${server.origin}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit)
        const says = outcome.error !== undefined && errorText(outcome.error).includes(failure.message)
        return faultRow(
          client,
          8,
          'request body stream errors',
          describeOutcome(outcome),
          "not RT_SOCKET_CLOSED, and the stream's error in the chain",
          outcome.error !== undefined && outcome.code !== 'RT_SOCKET_CLOSED' && outcome.code !== HANG && says,
        )
      })),
    )
    return rows
  } finally {
    await server.close()
  }
}
