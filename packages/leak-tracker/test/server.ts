import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { collectGarbage, nextMessage, serve } from '../../../test/loopback.js'

/** A loopback node:http server for tests. */
export interface TestServer {
  /** `http://127.0.0.1:port` */
  origin: string
  /** Connections accepted so far. */
  readonly connections: number
  /** Destroys open sockets and closes the server. */
  close(): Promise<void>
}

/** startServer starts a node:http server on 127.0.0.1:0. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const served = await serve(createServer(handler))
  return {
    origin: served.url,
    get connections() {
      return served.connections
    },
    close: () => served.close(),
  }
}

export { collectGarbage, nextMessage }

/**
 * startStreamServer serves `/stream` as headers and a first chunk, then
 * nothing (the body stays open and holds its connection), `/204` and `/304`
 * without a body, and `next` everywhere else.
 */
export function startStreamServer(): Promise<TestServer> {
  return startServer((req, res) => {
    if (req.url === '/stream') {
      res.write(Buffer.alloc(1024, 'a'))
      return
    }
    if (req.url === '/204') res.statusCode = 204
    if (req.url === '/304') res.statusCode = 304
    res.end(req.method === 'HEAD' || res.statusCode !== 200 ? undefined : 'next')
  })
}
