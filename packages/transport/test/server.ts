import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deferred } from './util.js'

/** A loopback HTTP server for tests, counting the connections it accepts. */
export interface TestServer {
  server: Server | NetServer
  /** `http://127.0.0.1:port` */
  origin: string
  port: number
  /** Connections accepted so far. */
  connections: number
  /** Sockets open right now. */
  open: Set<Socket>
  /** Resolves when the server has seen `n` sockets close in total. */
  closedCount(n: number): Promise<void>
  close(): Promise<void>
}

function track(server: Server | NetServer): Omit<TestServer, 'origin' | 'port'> {
  const open = new Set<Socket>()
  let closed = 0
  const waiters: Array<{ n: number; resolve: () => void }> = []
  const state = {
    server,
    connections: 0,
    open,
    closedCount(n: number) {
      if (closed >= n) return Promise.resolve()
      return new Promise<void>((resolve) => waiters.push({ n, resolve }))
    },
    close() {
      for (const s of open) s.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  server.on('connection', (socket: Socket) => {
    state.connections++
    open.add(socket)
    socket.on('close', () => {
      open.delete(socket)
      closed++
      for (const w of waiters.splice(0)) {
        if (closed >= w.n) w.resolve()
        else waiters.push(w)
      }
    })
  })
  return state
}

async function listen(server: Server | NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** startServer starts a node:http server on 127.0.0.1:0. */
export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = createServer(handler)
  const state = track(server)
  const port = await listen(server)
  return Object.assign(state, { origin: `http://127.0.0.1:${port}`, port }) as TestServer
}

/** startRawServer starts a net server whose sockets the test drives byte by byte. */
export async function startRawServer(onSocket: (socket: Socket) => void): Promise<TestServer> {
  const server = createNetServer(onSocket)
  const state = track(server)
  const port = await listen(server)
  return Object.assign(state, { origin: `http://127.0.0.1:${port}`, port }) as TestServer
}

/** A TestServer that answers each request with its path, holding the answer to `/hold` until `release()`. */
export interface HoldingServer extends TestServer {
  /** Resolves when the request for `/hold` has arrived. */
  holding: Promise<void>
  /** Lets the answer to `/hold` go. */
  release(): void
}

/** startHoldingServer starts a server that echoes the request path and holds `/hold` until released. */
export async function startHoldingServer(): Promise<HoldingServer> {
  const held = deferred()
  const arrived = deferred()
  const server = await startServer(async (req, res) => {
    if (req.url === '/hold') {
      arrived.resolve()
      await held.promise
    }
    res.end(req.url)
  })
  return Object.assign(server, { holding: arrived.promise, release: () => held.resolve() })
}

/** A node:http server on a unix socket, counting the connections it accepts. */
export type UnixServer = Omit<TestServer, 'origin' | 'port'> & {
  /** The socket path, in the temp folder. */
  path: string
}

/** startUnixServer starts a node:http server on a fresh socket path in the temp folder. */
export async function startUnixServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<UnixServer> {
  const path = join(tmpdir(), `roundtrip-${randomUUID()}.sock`)
  const server = createServer(handler)
  const state = track(server)
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return Object.assign(state, { path })
}

/** readBody reads a request body to a string. */
export async function readBody(req: IncomingMessage): Promise<string> {
  let s = ''
  for await (const chunk of req) s += chunk
  return s
}

/** startDroppingServer starts a raw server that answers the first request on a connection and drops the connection on the second, unanswered (a stale keep-alive conn). */
export async function startDroppingServer(): Promise<TestServer> {
  return startRawServer((socket) => {
    let requests = 0
    socket.on('data', (data: Buffer) => {
      const count = data.toString('latin1').split('\r\n\r\n').length - 1
      for (let i = 0; i < count; i++) {
        if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
        else socket.destroy()
      }
    })
  })
}
