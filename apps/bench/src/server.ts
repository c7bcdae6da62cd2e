// The benchmark server, run in its own process so that it does not share the
// client's event loop. `node server.js <kind> <ports> <bodyBytes>` listens on
// `ports` loopback ports and sends the list to its parent over IPC.
import { createServer as createHttpServer } from 'node:http'
import { createServer as createNetServer, type Server } from 'node:net'
import { createProxy } from 'proxy'

/** ServerKind: `http` is a node:http keep-alive server; `raw` answers canned HTTP/1.1 responses from a net server. */
export type ServerKind = 'http' | 'raw'

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
export async function listenAll(kind: ServerKind, count: number, bodyBytes: number): Promise<Listening> {
  const body = Buffer.alloc(bodyBytes, 'x')
  if (body.length >= 11) body.write('hello world')
  const servers: Server[] = []
  const sockets = new Set<import('node:net').Socket>()
  for (let i = 0; i < count; i++) {
    const server = kind === 'raw' ? rawServer(body) : httpServer(body)
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
  const { ports } = await listenAll(kind as ServerKind, Number(count), Number(bytes))
  let proxyPort: number | undefined
  if (proxy === 'proxy') {
    // The forwarding proxy of the proxy case: plain `http:` requests are forwarded (absolute-form), not tunnelled.
    const server = createProxy(createHttpServer())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    proxyPort = (server.address() as { port: number }).port
  }
  process.send!({ ports, proxyPort })
  process.on('disconnect', () => process.exit(0))
}

if (process.argv[1]?.endsWith('server.js') && process.send !== undefined) void main()
