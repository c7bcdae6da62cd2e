import type { Socket } from 'node:net'
import socks from '@mongodb-js/socksv5'

/** A real SOCKS5 server (the `@mongodb-js/socksv5` package) on 127.0.0.1:0. */
export interface TestSocksServer {
  port: number
  /** Connections accepted from clients. */
  connections: () => number
  /** Destinations asked for, as `host:port` (a name when the client sent one, else an address). */
  destinations: string[]
  close(): Promise<void>
}

/** startSocksServer starts it, with username/password authentication when `auth` is given. */
export async function startSocksServer(auth?: { username: string; password: string }): Promise<TestSocksServer> {
  const destinations: string[] = []
  const server = socks.createServer((info, accept) => {
    destinations.push(`${info.dstAddr}:${info.dstPort}`)
    accept()
  })
  server.useAuth(
    auth === undefined
      ? socks.auth.None()
      : socks.auth.UserPassword((user, password, cb) => cb(user === auth.username && password === auth.password)),
  )
  const sockets = new Set<Socket>()
  let connections = 0
  // The package emits 'connection' for SOCKS requests; its net.Server is `_srv`.
  const net = (server as unknown as { _srv: import('node:net').Server })._srv
  net.on('connection', (socket: Socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    destinations,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
