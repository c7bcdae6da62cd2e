// The benchmark server, run in its own process so that it does not share the
// client's event loop. `node server.js <kind> <ports> <bodyBytes>` listens on
// `ports` loopback ports and sends the list to its parent over IPC.
import { createServer as createHttpServer } from 'node:http'
import { createSecureServer } from 'node:http2'
import { generate } from 'selfsigned'
import { createServer as createNetServer, type Server } from 'node:net'
import { createProxy } from 'proxy'

/**
 * ServerKind: `http` is a node:http keep-alive server; `raw` answers canned
 * HTTP/1.1 responses from a net server; `h2` is a `node:http2` secure server
 * (ALPN `h2`, and `http/1.1` for clients that do not offer h2).
 */
export type ServerKind = 'http' | 'raw' | 'h2'

/** A self-signed certificate for 127.0.0.1, made for the run. */
async function certificate(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  } as never)
  return { key: pems.private, cert: pems.cert }
}

/** TLS connections accepted by the `h2` servers, for the connections-opened column. */
let tlsConnections = 0

function h2Server(body: Buffer, pem: { key: string; cert: string }): Server {
  const server = createSecureServer({ ...pem, allowHTTP1: true }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
    res.end(body)
  })
  server.on('secureConnection', () => tlsConnections++)
  server.on('sessionError', () => {})
  return server as unknown as Server
}

function rawServer(body: Buffer): Server {
  const head = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nkeep-alive: timeout=60\r\n\r\n`)
  const response = Buffer.concat([head, body])
  return createNetServer((socket) => {
    socket.setNoDelay(true)
    let tail = ''
    socket.on('data', (data) => {
      // Requests carry no body: count head ends.
      const text = tail + data.toString('latin1')
      let count = 0
      let at = text.indexOf('\r\n\r\n')
      let last = 0
      while (at !== -1) {
        count++
        last = at + 4
        at = text.indexOf('\r\n\r\n', last)
      }
      tail = text.slice(last)
      for (let i = 0; i < count; i++) socket.write(response)
    })
    socket.on('error', () => {})
  })
}

function httpServer(body: Buffer): Server {
  const server = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
    res.end(body)
  })
  server.keepAliveTimeout = 60_000
  return server
}

/** Listening is a set of running benchmark servers: their ports, and how to stop them all. */
export interface Listening {
  ports: number[]
  /** close destroys every open connection and stops every server. */
  close(): Promise<void>
}

/** listenAll starts `count` servers of `kind` on loopback ports, each answering every request with `bodyBytes` bytes. */
export async function listenAll(kind: ServerKind, count: number, bodyBytes: number, pem?: { key: string; cert: string }): Promise<Listening> {
  const body = Buffer.alloc(bodyBytes, 'x')
  if (body.length >= 11) body.write('hello world')
  const servers: Server[] = []
  const sockets = new Set<import('node:net').Socket>()
  for (let i = 0; i < count; i++) {
    const server = kind === 'raw' ? rawServer(body) : kind === 'h2' ? h2Server(body, pem!) : httpServer(body)
    server.on('connection', (s) => {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
  }
  return {
    ports: servers.map((s) => (s.address() as { port: number }).port),
    close: async () => {
      for (const s of sockets) s.destroy()
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
    },
  }
}

async function main(): Promise<void> {
  const [kind = 'http', count = '1', bytes = '11', proxy] = process.argv.slice(2)
  const pem = kind === 'h2' ? await certificate() : undefined
  const { ports } = await listenAll(kind as ServerKind, Number(count), Number(bytes), pem)
  let proxyPort: number | undefined
  if (proxy === 'proxy') {
    // The forwarding proxy of the proxy case: plain `http:` requests are forwarded (absolute-form), not tunnelled.
    const server = createProxy(createHttpServer())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    proxyPort = (server.address() as { port: number }).port
  }
  process.send!({ ports, proxyPort, ca: pem?.cert })
  // The parent asks how many TLS connections were opened so far (before and after each run).
  process.on('message', () => process.send!({ connections: tlsConnections }))
  process.on('disconnect', () => process.exit(0))
}

if (process.argv[1]?.endsWith('server.js') && process.send !== undefined) void main()
