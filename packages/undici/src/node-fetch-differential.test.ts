import { createServer as createNetServer, type Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { compose } from '@roundtrip/core'
import { Transport } from '@roundtrip/transport'
import { request, type Dispatcher } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, serve, type Origin } from '../../../test/loopback.js'
import { toDispatcher } from './to-dispatcher.js'

// The same uses of Node's global fetch, over its own dispatcher and over
// toDispatcher (a bare Transport's direct path, and the Request path through
// a stack), against the same loopback servers: what the caller observes
// (status, headers, body, null body, the error's class and message) must be
// equal. Raw responses come from a socket server, so that the bytes on the
// wire are exactly the scenario's.

const gz = gzipSync('hello gzip')

/** Responses written as raw bytes, by path. */
const RAW: Record<string, string | Buffer> = {
  '/trailers': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-t\r\n\r\n3\r\nabc\r\n0\r\nx-t: v\r\n\r\n',
  '/early-hints': 'HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
  '/204-length': 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n',
  '/304-gzip': 'HTTP/1.1 304 Not Modified\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n',
  '/gzip-empty': 'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n',
  '/gzip': Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`), gz]),
  '/no-reason': 'HTTP/1.1 404\r\nContent-Length: 2\r\n\r\nno',
  '/repeated': 'HTTP/1.1 200 OK\r\nX-D: 1\r\nX-D: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok',
  '/read-to-close': 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nread until close',
  '/large-head': `HTTP/1.1 200 OK\r\nX-Large: ${'a'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\nok`,
}
/** Paths where the server closes the connection: at once, or half-way through the body. */
const CLOSED = '/closed'
const CUT = '/cut'

let raw: Origin
let http: Origin
/** A URL nothing listens on. */
let refused: string
const transports: Transport[] = []

beforeAll(async () => {
  const server = createNetServer((socket: Socket) => {
    socket.on('error', () => {})
    let head = ''
    socket.on('data', (data: Buffer) => {
      head += data.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      const [method, path] = head.split(' ')
      head = ''
      const response = RAW[path!]
      if (path === CUT) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf', () => socket.destroy())
      else if (response === undefined) socket.destroy()
      // A HEAD gets the head only (the gzip response's, whose length says 30).
      else if (method === 'HEAD') socket.write(String(response).slice(0, String(response).indexOf('\r\n\r\n') + 4))
      else socket.end(response)
    })
  })
  raw = await serve(server)
  const gone = await listen(() => {})
  await gone.close()
  refused = `${gone.url}/`
  http = await listen(async (req, res) => {
    const url = new URL(req.url!, 'http://x')
    if (url.pathname === '/too-large') {
      // Answers before reading the body, as a server with an upload limit does.
      res.writeHead(413, { connection: 'close' }).end('too large')
      return
    }
    let body = ''
    try {
      for await (const chunk of req) body += chunk
    } catch {
      return
    }
    if (url.pathname === '/close') res.setHeader('connection', 'close')
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ method: req.method, body, length: req.headers['content-length'] ?? null, chunked: req.headers['transfer-encoding'] === 'chunked' }))
  })
})

afterAll(async () => {
  for (const transport of transports) await transport.close()
  await raw.close()
  await http.close()
})

type Fetch = (input: string, init?: RequestInit) => Promise<Response>

/** What a caller of Node's fetch observes of a response, or of its failure. */
async function observe(use: (fetch: Fetch) => Promise<Response | unknown>, fetch: Fetch): Promise<unknown> {
  try {
    const result = await use(fetch)
    if (!(result instanceof Response)) return result
    const headers = [...result.headers].filter(([name]) => name !== 'date' && name !== 'keep-alive' && name !== 'connection')
    return {
      status: result.status,
      statusText: result.statusText,
      headers,
      setCookie: result.headers.getSetCookie(),
      body: result.body === null ? null : await result.text().catch(failure),
    }
  } catch (error) {
    return failure(error)
  }
}

/** What code written for Node's fetch reads of a failure: its class, message and `cause.code` (code of `undici.request`'s own errors). */
function failure(error: unknown): unknown {
  const e = error as Error & { code?: unknown; cause?: { code?: unknown } }
  return { error: e.constructor.name, message: e.message, code: e.code, causeCode: e.cause?.code }
}

const stream = (text: string): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text))
      controller.close()
    },
  })

const SCENARIOS: Record<string, (fetch: Fetch) => Promise<Response | unknown>> = {
  'a content-length header the caller set': (f) => f(`${http.url}/echo`, { method: 'POST', body: 'abc', headers: { 'content-length': '3' } }),
  'a chunked body with trailers': (f) => f(`${raw.url}/trailers`),
  '103 Early Hints before the response are skipped': (f) => f(`${raw.url}/early-hints`),
  'a 204 with content-length 0 has a null body': (f) => f(`${raw.url}/204-length`),
  'a 304 with content-encoding has a null body': (f) => f(`${raw.url}/304-gzip`),
  'a HEAD of a gzip response has a null body': (f) => f(`${raw.url}/gzip`, { method: 'HEAD' }),
  'an empty gzip body reads as empty': (f) => f(`${raw.url}/gzip-empty`),
  'a gzip body is decoded once': (f) => f(`${raw.url}/gzip`),
  'a status line without a reason phrase': (f) => f(`${raw.url}/no-reason`),
  'repeated headers are joined, set-cookie kept apart': (f) => f(`${raw.url}/repeated`),
  'a body read until the connection closes': (f) => f(`${raw.url}/read-to-close`),
  'connection: close, then another request': async (f) => [await (await f(`${http.url}/close`)).text(), await (await f(`${http.url}/close`)).text()],
  'a 413 answered before the 2 MiB body is read': (f) => f(`${http.url}/too-large`, { method: 'POST', body: new Uint8Array(2 * 1024 * 1024) }),
  'a ReadableStream body (duplex half)': (f) => f(`${http.url}/echo`, { method: 'POST', body: stream('streamed'), duplex: 'half' } as RequestInit),
  'connection refused': (f) => f(refused),
  'the server closes the connection before the response': (f) => f(`${raw.url}${CLOSED}`),
  'the server closes the connection mid-body': (f) => f(`${raw.url}${CUT}`),
  'a response head larger than 16 KiB': (f) => f(`${raw.url}/large-head`),
  'a body used twice': async (f) => {
    const response = await f(`${http.url}/echo`)
    await response.text()
    return response.text()
  },
}

const dispatchers: Record<string, () => Dispatcher> = {
  'toDispatcher(new Transport())': () => {
    const transport = new Transport()
    transports.push(transport)
    return toDispatcher(transport)
  },
  'toDispatcher(compose(new Transport()))': () => {
    const transport = new Transport()
    transports.push(transport)
    return toDispatcher(compose(transport))
  },
}

describe.each(Object.keys(dispatchers))('Node’s fetch over %s behaves as over its own dispatcher', (kind) => {
  const init = { dispatcher: dispatchers[kind]!() } as unknown as RequestInit
  const bridged: Fetch = (input, more) => fetch(input, { ...more, ...init })
  it.each(Object.keys(SCENARIOS))('%s', async (name) => {
    const scenario = SCENARIOS[name]!
    expect(await observe(scenario, bridged)).toEqual(await observe(scenario, fetch))
  })
})

describe.each(Object.keys(dispatchers))('%s', (kind) => {
  const dispatcher = dispatchers[kind]!()
  it('sends a content-length that repeats one value (Node 20 and 22’s fetch joins the caller’s with its own) as that value', async () => {
    const response = await request(`${http.url}/echo`, { method: 'POST', body: 'abc', headers: { 'content-length': '3, 3' }, dispatcher })
    expect(await response.body.json()).toEqual({ method: 'POST', body: 'abc', length: '3', chunked: false })
  })

  it('sends a string or bytes body larger than 1 MiB with its content-length, as undici does, not chunked', async () => {
    const text = 'x'.repeat(2 * 1024 * 1024)
    for (const body of [text, Buffer.from(text), new Uint8Array(Buffer.from(text))]) {
      const response = await request(`${http.url}/echo`, { method: 'PUT', body, dispatcher })
      const echoed = (await response.body.json()) as { length: string | null; chunked: boolean; body: string }
      expect({ length: echoed.length, chunked: echoed.chunked, bytes: echoed.body.length }).toEqual({ length: String(text.length), chunked: false, bytes: text.length })
    }
  })

  it('fails undici.request with the error undici’s own dispatcher gives, carrying the coded one', async () => {
    const error = await request(refused, { dispatcher }).catch((e: unknown) => e)
    const own = await request(refused).catch((e: unknown) => e)
    expect(failure(error)).toEqual(failure(own))
    expect((error as { roundTripError?: { code?: string } }).roundTripError?.code).toBe('RT_CONNECT_REFUSED')
  })
})
