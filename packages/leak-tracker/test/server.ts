import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** A loopback node:http server for tests. */
export interface TestServer {
  /** `http://127.0.0.1:port` */
  origin: string
  /** Connections accepted so far. */
  connections: number
  /** Destroys open sockets and closes the server. */
  close(): Promise<void>
}

/** startServer starts a node:http server on 127.0.0.1:0. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = createServer(handler)
  const open = new Set<Socket>()
  const state = {
    origin: '',
    connections: 0,
    close() {
      for (const socket of open) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  server.on('connection', (socket: Socket) => {
    state.connections++
    open.add(socket)
    socket.on('close', () => open.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  state.origin = `http://127.0.0.1:${address.port}`
  return state
}

/** collectGarbage runs the collector, a turn at a time, until `done()` holds (at most 100 turns). */
export async function collectGarbage(done: () => boolean): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('tests need --expose-gc')
  for (let i = 0; i < 100 && !done(); i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

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
