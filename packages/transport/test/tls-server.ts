import { createServer, type Server } from 'node:https'
import type { Socket } from 'node:net'
import { generate } from 'selfsigned'

/** A self-signed certificate for 127.0.0.1 and localhost, made at test time. */
export interface TestCertificate {
  cert: string
  key: string
}

/** generateCertificate makes a CA-less self-signed certificate valid for 127.0.0.1, ::1 and localhost. */
export async function generateCertificate(): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  })
  return { cert: pems.cert, key: pems.private }
}

/** A loopback https server counting its TCP connections. */
export interface TestTlsServer {
  server: Server
  origin: string
  connections: number
  closedCount(n: number): Promise<void>
  close(): Promise<void>
}

/** startTlsServer starts a node:https server on 127.0.0.1:0 with `certificate`. */
export async function startTlsServer(certificate: TestCertificate, handler: Parameters<typeof createServer>[1]): Promise<TestTlsServer> {
  const server = createServer({ cert: certificate.cert, key: certificate.key }, handler)
  const open = new Set<Socket>()
  let closed = 0
  const waiters: Array<{ n: number; resolve: () => void }> = []
  const state: TestTlsServer = {
    server,
    origin: '',
    connections: 0,
    closedCount(n) {
      if (closed >= n) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ n, resolve }))
    },
    close() {
      for (const socket of open) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
  // 'connection' is the TCP socket, before the handshake: failed handshakes count too.
  server.on('connection', (socket: Socket) => {
    state.connections++
    open.add(socket)
    socket.on('close', () => {
      open.delete(socket)
      closed++
      for (const w of waiters.splice(0)) (closed >= w.n ? w.resolve() : waiters.push(w))
    })
  })
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  state.origin = `https://127.0.0.1:${address.port}`
  return state
}
