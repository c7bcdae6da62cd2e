import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import { createProxy } from 'proxy'

/** A real HTTP(S) proxy (the `proxy` package from npm) on 127.0.0.1:0, counting what it sees. */
export interface TestProxy {
  /** `http://127.0.0.1:port` (or `https://…`), without credentials. */
  url: string
  port: number
  /** Connections accepted from clients. */
  connections: () => number
  /** CONNECT requests received, as `host:port`. */
  connects: string[]
  /** Forwarded (non-CONNECT) requests received, as their request-target. */
  forwarded: string[]
  /** `Proxy-Authorization` values seen, CONNECT and forwarded alike. */
  authorizations: Array<string | undefined>
  /** The headers of each request the proxy received. */
  heads: IncomingMessage['headers'][]
  close(): Promise<void>
}

/**
 * startProxy starts the `proxy` package's server in-process. With `auth`,
 * it requires `Proxy-Authorization: Basic` for those credentials (its
 * `authenticate` hook); with `tls`, it listens over TLS (an `https://` proxy).
 */
export async function startProxy(options: { auth?: { username: string; password: string }; tls?: { key: string; cert: string } } = {}): Promise<TestProxy> {
  const server = createProxy(options.tls === undefined ? createHttpServer() : (createHttpsServer(options.tls) as never))
  const sockets = new Set<Socket>()
  let connections = 0
  const connects: string[] = []
  const forwarded: string[] = []
  const authorizations: Array<string | undefined> = []
  const heads: IncomingMessage['headers'][] = []
  server.on(options.tls === undefined ? 'connection' : 'secureConnection', () => connections++)
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const expected = options.auth === undefined ? undefined : `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
  server.authenticate = (req: IncomingMessage) => {
    authorizations.push(req.headers['proxy-authorization'])
    heads.push(req.headers)
    if (req.method === 'CONNECT') connects.push(req.url ?? '')
    else forwarded.push(req.url ?? '')
    return expected === undefined || req.headers['proxy-authorization'] === expected
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    connects,
    forwarded,
    authorizations,
    heads,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
