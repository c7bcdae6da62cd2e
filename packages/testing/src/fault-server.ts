import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { ERR_MOCK_INVALID, TestingError } from './errors.js'
import { finish, send, Waits } from './fault-send.js'
import { checkScript, type ScriptedResponse } from './fault-script.js'

/** RecordedRequest is one request a fault server received. */
export interface RecordedRequest {
  /** Its place in arrival order, from 0; the scripted response it got has the same index. */
  index: number
  method: string
  /** The request target as sent (path and query). */
  url: string
  /** Headers, names lowercased, repeated ones joined with `, `. */
  headers: Record<string, string>
  body: Uint8Array
  /** The connection it came on, numbered from 1 in the order they were accepted: equal numbers mean reuse. */
  connection: number
}

/** FaultServerOptions configure {@link createFaultServer}. */
export interface FaultServerOptions {
  /** Close each connection (cleanly, without `Connection: close`) after it has carried this many responses. Undefined: no limit. */
  closeAfterResponses?: number
}

/**
 * FaultServer is a real HTTP/1.1 server on 127.0.0.1 whose responses are
 * scripted in order, each with an optional fault. Made by {@link createFaultServer}.
 */
export interface FaultServer extends AsyncDisposable {
  /** `http://127.0.0.1:port` */
  readonly origin: string
  readonly port: number
  /** The origin plus `path` (default `/`). */
  url(path?: string): string
  /** Queues responses; requests take them in arrival order. A request that finds the queue empty gets a 500 saying so. */
  script(...responses: ScriptedResponse[]): this
  /** Every request received, in arrival order. */
  readonly requests: readonly RecordedRequest[]
  /** Connections accepted so far. */
  readonly connections: number
  /** Scripted responses not used yet. */
  readonly remaining: number
  /** Ends stalls, closes every connection and the listener. */
  close(): Promise<void>
}

/**
 * createFaultServer starts a real HTTP/1.1 server on 127.0.0.1 (port 0) that
 * answers requests, in arrival order, with the responses given to
 * `script()`, each with an optional {@link Fault}: a connection closed or
 * reset before the head, mid-head, mid-body or after the body; a head or
 * body that stalls; a throttled body; a lying `Content-Length`; 1xx
 * responses before the final one; or exact `raw` bytes. It records each request and the
 * connection it came on, so a test can assert reuse. The server is
 * node:http (request parsing) with the faults acted on its sockets.
 *
 * @example
 * ```ts
 * await using server = await createFaultServer()
 * server.script({ body: 'partial body', fault: 'reset-mid-body' }, { body: 'ok' })
 * const response = await transport.roundTrip(new Request(server.url('/')))
 * await response.text() // rejects with RT_SOCKET_CLOSED
 * ```
 */
export async function createFaultServer(options: FaultServerOptions = {}): Promise<FaultServer> {
  const limit = options.closeAfterResponses
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new TestingError(ERR_MOCK_INVALID, `fault server: closeAfterResponses must be an integer >= 1, got ${String(limit)}`)
  }
  const queue: ScriptedResponse[] = []
  const requests: RecordedRequest[] = []
  const ids = new WeakMap<Socket, { id: number; responses: number }>()
  const waits = new Waits()
  let connections = 0

  const server = createServer((req, res) => {
    // No Date header: the same script gives the same bytes on every run.
    res.sendDate = false
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const conn = ids.get(req.socket)!
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : (value ?? '')
      const index = requests.length
      requests.push({ index, method: req.method ?? '', url: req.url ?? '', headers, body: new Uint8Array(Buffer.concat(chunks)), connection: conn.id })
      const script = queue.shift() ?? {
        status: 500,
        headers: { 'content-type': 'text/plain' },
        body: `fault server: no scripted response left for request #${index} (${req.method} ${req.url})`,
      }
      res.once('finish', () => {
        conn.responses++
        if (limit !== undefined && conn.responses >= limit) finish(req.socket, 'close')
      })
      send(req, res, script, waits).catch((error: unknown) => {
        req.socket.destroy()
        process.emitWarning(`fault server: sending response #${index} failed: ${String(error)}`)
      })
    })
  })
  server.on('connection', (socket: Socket) => {
    connections++
    ids.set(socket, { id: connections, responses: 0 })
    // A reset from the client side is part of the tests; it is not an error of the server.
    socket.on('error', () => {})
  })
  server.on('clientError', (_error, socket: Socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      waits.closeAll()
      server.close(() => resolve())
      server.closeAllConnections()
    })
    return closing
  }
  const api: FaultServer = {
    origin,
    port,
    url: (path = '/') => new URL(path, origin).href,
    script(...responses) {
      for (const r of responses) checkScript(r)
      queue.push(...responses)
      return api
    },
    requests,
    get connections() {
      return connections
    },
    get remaining() {
      return queue.length
    },
    close,
    [Symbol.asyncDispose]: close,
  }
  return api
}
