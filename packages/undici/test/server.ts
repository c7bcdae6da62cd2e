import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { collectGarbage } from '../../../test/loopback.js'
import type { Socket } from 'node:net'

/** A loopback node:http server for tests. */
export interface TestServer {
  /** `http://127.0.0.1:port` */
  origin: string
  /** Connections accepted so far. */
  connections: number
  /** Requests served so far. */
  requests: number
  /** The node:http server. */
  server: Server
  /** Destroys open sockets and closes the server. */
  close(): Promise<void>
}

/** startServer starts a node:http server on 127.0.0.1:0. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const open = new Set<Socket>()
  const state: TestServer = {
    server: undefined as unknown as Server,
    origin: '',
    connections: 0,
    requests: 0,
    close() {
      for (const socket of open) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server = createServer((req, res) => {
    state.requests++
    handler(req, res)
  })
  state.server = server
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

/**
 * Writer sends a large body as fast as the client takes it and counts what
 * the socket accepted, so a test can see back-pressure: while the client
 * does not read, `written` stops growing far below the body's size.
 */
export interface Writer {
  /** Bytes handed to the socket so far. */
  written: number
  /** Resolves when the response ended (true) or the connection closed first (false). */
  finished: Promise<boolean>
  /** Resolves when the socket stopped accepting data (`write()` returned false). */
  blocked: Promise<void>
}

/** writeLarge answers `res` with `size` bytes of `fill` in 64 KiB chunks, honouring back-pressure. */
export function writeLarge(res: ServerResponse, size: number, fill = 0x61): Writer {
  const chunk = Buffer.alloc(64 * 1024, fill)
  let resolveBlocked!: () => void
  let resolveFinished!: (ended: boolean) => void
  const writer: Writer = {
    written: 0,
    blocked: new Promise<void>((r) => (resolveBlocked = r)),
    finished: new Promise<boolean>((r) => (resolveFinished = r)),
  }
  res.writeHead(200, { 'content-length': String(size) })
  res.on('close', () => resolveFinished(res.writableFinished))
  const pump = (): void => {
    while (writer.written < size) {
      const part = chunk.subarray(0, Math.min(chunk.length, size - writer.written))
      writer.written += part.length
      if (!res.write(part)) {
        resolveBlocked()
        res.once('drain', pump)
        return
      }
    }
    res.end()
  }
  pump()
  return writer
}

/**
 * acceptEchoUpgrades makes `server` answer an `upgrade: echo` request with
 * 101 and echo every byte back on the upgraded socket.
 */
export function acceptEchoUpgrades(server: Server): void {
  server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n')
    socket.pipe(socket)
  })
}

export { collectGarbage }

/** nextTurn resolves after the event loop's check phase. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
