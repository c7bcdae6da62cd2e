import { createServer, type Server, type ServerOptions } from 'node:https'
import type { TLSSocket } from 'node:tls'
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

/**
 * Certificates for mutual TLS, generated for the test run: the server's
 * (self-signed, also the CA) and a client certificate it signed, whose
 * common name is `roundtrip-client`.
 */
export async function mtlsCertificates(): Promise<{ key: string; cert: string; clientKey: string; clientCert: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    clientCertificate: { cn: 'roundtrip-client' },
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  } as never)
  const all = pems as unknown as Record<string, string>
  return { key: pems.private, cert: pems.cert, clientKey: all.clientprivate!, clientCert: all.clientcert! }
}

/** An https server on 127.0.0.1:0 with the given certificate (and server options), counting TLS connections and resumed sessions. */
export async function httpsServer(
  pem: { key: string; cert: string },
  options: ServerOptions = {},
): Promise<{ origin: string; connections: () => number; resumed: () => number; close(): Promise<void> }> {
  const server: Server = createServer({ ...pem, ...options }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate()
    res.end(peer?.subject?.CN === undefined ? `secure ${req.url}` : `secure ${req.url} for ${peer.subject.CN}`)
  })
  const sockets = new Set<Socket>()
  let connections = 0
  let resumed = 0
  server.on('secureConnection', (s) => {
    connections++
    if (s.isSessionReused()) resumed++
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
    resumed: () => resumed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
