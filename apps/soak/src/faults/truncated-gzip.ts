// Issue 18 item 5: the HTTP framing is complete (content-length bytes
// arrive) but the gzip stream inside ends without its trailer. That is a
// truncated body, and "never a silent truncation" is the promise: the read
// must fail, as Go's does (`unexpected EOF`).
import type { ClientFactory } from '../clients.js'
import { gzipText } from '../bodies.js'
import type { Row } from '../row.js'
import { respond, startScriptedServer } from '../servers.js'
import { attempt, describeOutcome, eachClient, faultRow } from './common.js'

/** truncatedGzip: 1,000,000 bytes gzip-encoded, the gzip stream cut at 60%, framed whole. */
export async function truncatedGzip(clients: readonly ClientFactory[]): Promise<Row[]> {
  const { gzip } = gzipText(1_000_000)
  const cut = gzip.subarray(0, Math.floor(gzip.length * 0.6))
  const server = await startScriptedServer((socket) => respond(socket, cut, { 'content-encoding': 'gzip' }))
  try {
    return await eachClient(clients, async (client) => {
      const outcome = await attempt(client, server.origin)
      const ok = outcome.error !== undefined && /^RT_/.test(outcome.code ?? '')
      return faultRow(client, 5, 'gzip stream cut, framing whole', `${describeOutcome(outcome)} (of 1,000,000)`, 'a coded error, not a short 200', ok)
    })
  } finally {
    await server.close()
  }
}
