import {
  createSecureServer,
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type Settings,
} from 'node:http2'
import { createServer as createNetServer, connect, type Socket } from 'node:net'

/** A loopback HTTP/2 server for tests: counts the sessions (connections) it accepts. */
export interface H2TestServer {
  /** `https://127.0.0.1:port` (secure) or `http://127.0.0.1:port` (h2c). */
  origin: string
  /** Sessions accepted so far: one per TCP connection. */
  sessions: () => number
  /** Sessions open now. */
  live: Set<Http2Session>
  /** Streams the handler is serving now (the server's view of concurrency), and the most at once. */
  inFlight: () => number
  maxInFlight: () => number
  /** Destroys every TCP connection now, as a crashed server or a cut network would. */
  dropConnections(): void
  close(): Promise<void>
}

export type H2Handler = (req: Http2ServerRequest, res: Http2ServerResponse) => void

/**
 * startH2Server starts a `node:http2` server on 127.0.0.1:0: secure with
 * `pem` (ALPN `h2`, and `http/1.1` too when `allowHTTP1`), or h2c without.
 */
export async function startH2Server(
  handler: H2Handler,
  options: { pem?: { key: string; cert: string }; settings?: Settings; allowHTTP1?: boolean } = {},
): Promise<H2TestServer> {
  let sessions = 0
  let inFlight = 0
  let maxInFlight = 0
  const live = new Set<Http2Session>()
  const sockets = new Set<Socket>()
  const wrapped: H2Handler = (req, res) => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    // An HTTP/1.1 request (allowHTTP1) has no stream.
    ;((res.stream as typeof res.stream | undefined) ?? res).once('close', () => inFlight--)
    handler(req, res)
  }
  const serverOptions = { settings: options.settings ?? {}, allowHTTP1: options.allowHTTP1 ?? false }
  const server: Http2Server =
    options.pem === undefined ? createServer(serverOptions, wrapped) : (createSecureServer({ ...options.pem, ...serverOptions }, wrapped) as unknown as Http2Server)
  server.on('session', (session: Http2Session) => {
    sessions++
    live.add(session)
    session.on('close', () => live.delete(session))
    session.on('error', () => {})
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    origin: `${options.pem === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    sessions: () => sessions,
    live,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    dropConnections: () => {
      for (const socket of sockets) socket.destroy()
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of live) session.destroy()
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A TCP relay to `port` that can be frozen: while frozen it forwards nothing either way (a server that stopped answering). */
export async function startFreezableRelay(port: number): Promise<{ origin: string; freeze(): void; close(): Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>()
  let frozen = false
  const server = createNetServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (!frozen) to.write(chunk)
      })
      from.on('close', () => to.destroy())
      from.on('error', () => {})
    }
    forward(client, upstream)
    forward(upstream, client)
    client.on('close', () => pairs.delete(pair))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    freeze: () => {
      frozen = true
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy()
          b.destroy()
        }
        server.close(() => resolve())
      }),
  }
}
