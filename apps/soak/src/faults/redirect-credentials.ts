// Issue 18 item 6: a redirect to a URL with credentials must reject as
// `fetch failed` with a coded cause, and the password must not be printed.
import { createFetchClient, type ClientFactory } from '../clients.js'
import type { Row } from '../row.js'
import { responseHead, startScriptedServer } from '../servers.js'
import { attempt, describeOutcome, eachClient, faultRow } from './common.js'

/** redirectCredentials: `createFetch(new Transport())` (and the comparison fetches) follow a 302 to `http://user:S3CRET@…`. */
export async function redirectCredentials(clients: readonly ClientFactory[]): Promise<Row[]> {
  const server = await startScriptedServer((socket, request) => {
    const location = `http://user:S3CRET@127.0.0.1:${server.port}/next`
    if (request.path === '/') socket.write(responseHead(302, 'Found', { location, 'content-length': 0 }))
    else socket.write(responseHead(200, 'OK', { 'content-length': 2 }) + 'ok')
  })
  try {
    // The Transport does not follow redirects: the fetch layer does.
    const fetches = [createFetchClient, ...clients.slice(1)]
    return await eachClient(fetches, async (client) => {
      const outcome = await attempt(client, server.origin)
      const error = outcome.error as { message?: string; cause?: { code?: unknown; message?: string } } | undefined
      const leaked = error !== undefined && `${error.message} ${error.cause?.message}`.includes('S3CRET')
      const ok =
        error instanceof TypeError && error.message === 'fetch failed' && typeof error.cause?.code === 'string' && !leaked
      return faultRow(
        client,
        6,
        'redirect to a URL with credentials',
        `${describeOutcome(outcome)}${leaked ? ' — the password is in the message' : ''}`,
        "TypeError 'fetch failed', a coded cause, no password",
        ok,
      )
    })
  } finally {
    await server.close()
  }
}
