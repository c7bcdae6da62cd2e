// Loopback servers that misbehave the way real ones do. Each is a raw
// `node:net` server on 127.0.0.1:0 with a small HTTP/1.1 request reader, so
// that it can do what `node:http` will not: close an idle socket the moment
// after a response with no hint, send a 1xx before the final response, send
// a response nobody asked for, break the framing.
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'

/** Loopback is a running server: where it listens, what is open, how to stop it. */
export interface Loopback {
  readonly origin: string
  readonly port: number
  /** Server-side sockets open now. */
  readonly open: ReadonlySet<Socket>
  /** Connections accepted so far. */
  readonly connections: number
  /** close destroys every open socket and stops listening. */
  close(): Promise<void>
}

/** listen starts a raw server that hands each accepted socket to `onSocket`. */
export async function listen(onSocket: (socket: Socket) => void): Promise<Loopback> {
  const open = new Set<Socket>()
  let connections = 0
  const server = createServer({ noDelay: true }, (socket) => {
    connections++
    open.add(socket)
    socket.on('close', () => open.delete(socket))
    socket.on('error', () => {})
    onSocket(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    open,
    get connections() {
      return connections
    },
    close() {
      for (const socket of open) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** ParsedRequest is one request read off a socket. */
export interface ParsedRequest {
  method: string
  path: string
  headers: Map<string, string>
  /** The body: content-length framed, or chunked (kept raw). */
  body: Buffer
  /** Bytes of head and body on the wire. */
  bytes: number
}

/**
 * RequestReader cuts HTTP/1.1 requests out of the bytes of one socket.
 * Bodies are framed by `content-length`, or chunked up to the last chunk.
 */
export class RequestReader {
  #buffer: Buffer = Buffer.alloc(0)

  /** Bytes received of a request not complete yet (0 between requests). */
  get pending(): number {
    return this.#buffer.length
  }

  /** The value of `name` in the incomplete request, when its header line has arrived. */
  pendingHeader(name: string): string | undefined {
    const text = this.#buffer.toString('latin1')
    const match = new RegExp(`\\r\\n${name}:\\s*([^\\r]*)\\r\\n`, 'i').exec(text)
    return match?.[1]
  }

  /** push adds bytes and returns the requests they complete. */
  push(data: Buffer): ParsedRequest[] {
    this.#buffer = this.#buffer.length === 0 ? data : Buffer.concat([this.#buffer, data])
    const done: ParsedRequest[] = []
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n')
      if (end < 0) return done
      const lines = this.#buffer.subarray(0, end).toString('latin1').split('\r\n')
      const [method = '', path = ''] = lines[0]!.split(' ')
      const headers = new Map<string, string>()
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':')
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
      }
      let total: number
      if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
        const last = this.#buffer.indexOf('\r\n0\r\n\r\n', end + 2)
        if (last < 0) return done
        total = last + 7
      } else {
        total = end + 4 + Number(headers.get('content-length') ?? 0)
        if (this.#buffer.length < total) return done
      }
      done.push({ method, path, headers, body: this.#buffer.subarray(end + 4, total), bytes: total })
      this.#buffer = this.#buffer.subarray(total)
    }
  }
}

/** ResponseHead writes a status line and headers; `content-length` is added for a buffer body. */
export function responseHead(status: number, reason: string, headers: Record<string, string | number> = {}): string {
  let head = `HTTP/1.1 ${status} ${reason}\r\n`
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
  return `${head}\r\n`
}

/** respond writes a whole 200 response with `body` and a content-length. */
export function respond(socket: Socket, body: string | Buffer, headers: Record<string, string | number> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  socket.write(Buffer.concat([Buffer.from(responseHead(200, 'OK', { 'content-length': bytes.length, ...headers })), bytes]))
}

/** requestId reads the `x-soak-id` a client put on a request. */
export function requestId(headers: Map<string, string>): number {
  return Number(headers.get('x-soak-id') ?? -1)
}

/** ClosingServer is a server that closes idle keep-alive sockets under the client, and records what each request delivered. */
export interface ClosingServer extends Loopback {
  /** Bytes the server read of each request (by `x-soak-id`), whole or cut. */
  readonly received: ReadonlyMap<number, number>
  /** Connections on which a request arrived after the server had closed its side: races the client lost. */
  readonly raced: number
}

/**
 * startClosingServer answers each request with `<id>` (a GET) or
 * `<id>:<body length>` (anything else), with no Keep-Alive hint, and after
 * each response closes the socket `idleCloseMs()` ms later unless the next
 * request has started (0: at once; Infinity: keep it open). It closes its side only (FIN) and keeps reading what
 * arrives until the client closes, so `received` says exactly whether a
 * request reached the server: bytes that arrive after the FIN are recorded,
 * not answered. With `mode: 'destroy'` it closes the socket outright instead,
 * as most servers do (then what arrives later is reset, not recorded).
 */
export async function startClosingServer(idleCloseMs: () => number, mode: 'fin' | 'destroy' = 'fin'): Promise<ClosingServer> {
  const received = new Map<number, number>()
  let raced = 0
  const loop = await listen((socket) => {
    const reader = new RequestReader()
    let idle: NodeJS.Timeout | undefined
    let linger: NodeJS.Timeout | undefined
    let closing = false
    let lost = false
    const lose = (): void => {
      if (!lost) raced++
      lost = true
    }
    const shut = (): void => {
      closing = true
      if (mode === 'destroy') return void socket.destroy()
      socket.end()
      // A client that never closes its side is dropped after a while.
      linger = setTimeout(() => socket.destroy(), 2_000)
    }
    socket.on('close', () => {
      clearTimeout(idle)
      clearTimeout(linger)
    })
    socket.on('data', (data: Buffer) => {
      clearTimeout(idle)
      for (const request of reader.push(data)) {
        const id = requestId(request.headers)
        received.set(id, request.bytes)
        if (closing) {
          lose()
          continue
        }
        respond(socket, request.method === 'GET' ? `${id}` : `${id}:${request.body.length}`)
      }
      if (reader.pending > 0) {
        const id = reader.pendingHeader('x-soak-id')
        if (id !== undefined) received.set(Number(id), reader.pending)
        if (closing) lose()
        return
      }
      if (closing) return
      const ms = idleCloseMs()
      if (ms <= 0) shut()
      else if (ms !== Infinity) idle = setTimeout(shut, ms)
    })
  })
  return {
    origin: loop.origin,
    port: loop.port,
    open: loop.open,
    get connections() {
      return loop.connections
    },
    close: () => loop.close(),
    received,
    get raced() {
      return raced
    },
  }
}

/**
 * startScriptedServer answers each request by calling `answer` with the
 * socket and the request: the answer writes whatever it likes (1xx first,
 * broken framing, an extra response later).
 */
export function startScriptedServer(answer: (socket: Socket, request: ParsedRequest) => void): Promise<Loopback> {
  return listen((socket) => {
    const reader = new RequestReader()
    socket.on('data', (data: Buffer) => {
      for (const request of reader.push(data)) answer(socket, request)
    })
  })
}
