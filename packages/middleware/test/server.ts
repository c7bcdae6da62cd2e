import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { serve } from '../../../test/loopback.js'

/** A loopback node:http server for tests that counts what it sees. */
export interface TestServer {
  /** `http://127.0.0.1:port` */
  origin: string
  /** Requests received so far, by path (without the query). */
  hits: Map<string, number>
  /** Connections accepted so far. */
  readonly connections: number
  /** Requests received on `path` (without the query) so far. */
  count(path: string): number
  /** Destroys open sockets and closes the server. */
  close(): Promise<void>
}

/** startServer starts a node:http server on 127.0.0.1:0. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const hits = new Map<string, number>()
  const served = await serve(
    createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!
      hits.set(path, (hits.get(path) ?? 0) + 1)
      handler(req, res)
    }),
  )
  return {
    origin: served.url,
    hits,
    get connections() {
      return served.connections
    },
    count: (path) => hits.get(path) ?? 0,
    close: () => served.close(),
  }
}

/** readBody reads a request body as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) text += String(chunk)
  return text
}

/** A port nothing listens on: a server is started and closed to find one. */
export async function closedPort(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${address.port}`
}
