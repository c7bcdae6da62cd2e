import { createServer, type Server } from 'node:https'
import type { Socket } from 'node:net'
import { generate } from 'selfsigned'

/** A self-signed certificate for 127.0.0.1 and localhost, generated for the test run. */
export async function certificate(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  } as never)
  return { key: pems.private, cert: pems.cert }
}

/** An https server on 127.0.0.1:0 with the given certificate, counting TLS connections. */
export async function httpsServer(pem: { key: string; cert: string }): Promise<{ origin: string; connections: () => number; close(): Promise<void> }> {
  const server: Server = createServer(pem, (req, res) => res.end(`secure ${req.url}`))
  const sockets = new Set<Socket>()
  let connections = 0
  server.on('secureConnection', (s) => {
    connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
