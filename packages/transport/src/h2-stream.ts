import { constants, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import type { Holder } from './conn.js'
import { H2_CONN_LOST, H2_STREAM_RESET, H2_UNPROCESSED as UNPROCESSED } from './errors-map.js'
import type { Exchange, ExchangeConn } from './exchange.js'
import type { H2Conn } from './h2-conn.js'
import type { OutgoingBody } from './request-body.js'

const NO_SOCKET = Object.freeze({})

/**
 * H2Lease is one stream of an {@link H2Conn} held by one request: what its
 * Exchange sees as the connection. Releasing it gives the stream back; the
 * conn stays.
 */
export class H2Lease implements ExchangeConn {
  /** HTTP/2 streams have no socket of their own: nothing tells whether bytes of this one were written. */
  readonly socket = NO_SOCKET
  readonly ownTimers = true
  reusable = true
  idleLimit = 0
  constructor(
    readonly conn: H2Conn,
    readonly holder: Holder,
    /** The conn's request count when this one started: more than 1 means the conn was reused. */
    readonly requests: number,
  ) {}

  acceptUnsolicited100(): void {}

  takeInterimStatus(status: number): number {
    return status
  }
}

/** The name of each HTTP/2 error code, for messages. */
const CODE_NAMES = new Map<number, string>(
  Object.entries(constants)
    .filter(([name]) => /^NGHTTP2_(NO_ERROR|[A-Z_]+_ERROR|SETTINGS_TIMEOUT|STREAM_CLOSED|REFUSED_STREAM|CANCEL|ENHANCE_YOUR_CALM|INADEQUATE_SECURITY|HTTP_1_1_REQUIRED)$/.test(name))
    .map(([name, value]) => [value as number, name.slice('NGHTTP2_'.length)]),
)

/** codeName is `CANCEL (code 8)`. */
export function h2CodeName(code: number): string {
  return `${CODE_NAMES.get(code) ?? 'UNKNOWN'} (code ${code})`
}

function coded(message: string, code: string, rstCode?: number): Error {
  const error = Object.assign(new Error(message), { code, rstCode })
  // As undici names its own (Node's fetch shows it as the cause).
  if (code === H2_CONN_LOST) error.name = 'SocketError'
  return error
}

/**
 * requestHeaders builds the HTTP/2 head of a request from its method, path,
 * authority and the Transport's header list (`host` becomes `:authority`).
 */
function requestHeaders(method: string, scheme: string, authority: string, path: string, list: string[]): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ':method': method, ':scheme': scheme, ':authority': authority, ':path': path }
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!
    const value = list[i + 1]!
    if (name === 'host') {
      headers[':authority'] = value
      continue
    }
    const previous = headers[name]
    if (previous === undefined) headers[name] = value
    else if (Array.isArray(previous)) previous.push(value)
    else headers[name] = [String(previous), value]
  }
  return headers
}

/** responsePairs flattens a response head to `[name, value, …]` without the pseudo-headers. */
function responsePairs(headers: IncomingHttpHeaders): string[] {
  const pairs: string[] = []
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue
    const value = headers[name]
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) pairs.push(name, v)
    else pairs.push(name, value)
  }
  return pairs
}

/** What a stream sends: the request line's parts, the Transport's header list and the prepared body. */
export interface StreamRequest {
  method: string
  /** `:authority`: `host[:port]` as the URL has it. */
  authority: string
  path: string
  headers: string[]
  body: OutgoingBody
}

/**
 * sendOnStream sends `request` on a new stream of the lease's conn and
 * drives `exchange` with what comes back, as undici drives it for HTTP/1.1:
 * the head, body chunks (the stream pauses when the body's queue is full, so
 * the server is held back by the stream's flow-control window), the end, or
 * one failure. A stream the server never processed (`REFUSED_STREAM`, or
 * above GOAWAY's last stream id) fails with {@link UNPROCESSED}, which the
 * exchange replays on another conn.
 */
export function sendOnStream(lease: H2Lease, request: StreamRequest, exchange: Exchange): void {
  const conn = lease.conn
  const body = request.body.body
  const scheme = conn.method.target.protocol === 'https:' ? 'https' : 'http'
  let stream: ClientHttp2Stream
  try {
    const headers = requestHeaders(request.method, scheme, request.authority, request.path, request.headers)
    stream = conn.session.request(headers, { endStream: body === null })
  } catch (error) {
    const code = (error as { code?: string }).code ?? ''
    // A session closing under us (GOAWAY just arrived): nothing was sent.
    const failure = /SESSION|GOAWAY|STREAM_ID|OUT_OF_STREAMS/.test(code)
      ? coded(`the HTTP/2 connection took no new stream: ${(error as Error).message}`, UNPROCESSED)
      : Object.assign(error as Error, { code: 'UND_ERR_INVALID_ARG' })
    exchange.onError(failure)
    return
  }
  let settled = false
  let responded = false
  let streamError: Error | undefined
  const fail = (error: Error = new Error('aborted')): void => {
    if (settled) return
    settled = true
    if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL)
    exchange.onError(error)
  }
  exchange.onConnect(fail)
  if (settled) return
  const resume = (): void => {
    if (!settled) stream.resume()
  }
  const head = (headers: IncomingHttpHeaders): void => {
    if (settled) return
    try {
      exchange.onHead(Number(headers[':status']), responsePairs(headers), resume, '')
    } catch (error) {
      fail(error as Error)
    }
  }
  stream.on('headers', head) // interim (1xx) heads
  // The body length the head announced, and the bytes that came: Node ends a
  // stream reset with NO_ERROR (or torn down with its session) as if it were
  // complete, so a short body is told by its length.
  let expected = -1
  let received = 0
  stream.on('response', (headers) => {
    exchange.onResponseStarted()
    responded = true
    const length = headers['content-length']
    if (length !== undefined && request.method !== 'HEAD') expected = Number(length)
    head(headers)
  })
  stream.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (!settled && !exchange.onData(chunk)) stream.pause()
  })
  stream.on('end', () => {
    if (settled) return
    const rst = stream.rstCode ?? 0
    if (rst !== 0 || conn.session.destroyed || (expected >= 0 && received !== expected)) {
      return fail(closeError(stream, conn, streamError, responded, `${received} of ${expected < 0 ? 'unknown' : expected} body bytes`))
    }
    settled = true
    exchange.onComplete()
  })
  stream.on('error', (error) => {
    streamError = error
  })
  stream.on('close', () => {
    if (!settled) fail(closeError(stream, conn, streamError, responded))
  })
  if (body === null) exchange.onRequestSent()
  else if (Buffer.isBuffer(body)) stream.end(body, () => !settled && exchange.onRequestSent())
  else {
    writeBody(stream, body).then(
      () => !settled && exchange.onRequestSent(),
      (error: unknown) => fail(error as Error),
    )
  }
}

/** writeBody streams a request body into the stream, waiting for the stream's flow-control window when it is full. */
async function writeBody(stream: ClientHttp2Stream, body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of body) {
    if (stream.destroyed) return
    if (!stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off('drain', done)
          stream.off('close', done)
          resolve()
        }
        stream.on('drain', done)
        stream.on('close', done)
      })
    }
  }
  if (!stream.destroyed) await new Promise<void>((resolve) => stream.end(resolve))
}

/** closeError says why a stream closed before its end: not processed, the connection lost, or reset by the server. */
function closeError(stream: ClientHttp2Stream, conn: H2Conn, error: Error | undefined, responded: boolean, short?: string): Error {
  const rst = stream.rstCode
  if (!responded && (rst === constants.NGHTTP2_REFUSED_STREAM || !conn.mayHaveProcessed(stream.id))) {
    const why = rst === constants.NGHTTP2_REFUSED_STREAM ? 'REFUSED_STREAM' : `GOAWAY (last stream ${conn.lastStreamId})`
    return coded(`the server did not process the HTTP/2 stream (${why})`, UNPROCESSED, rst)
  }
  const detail = error === undefined ? (short === undefined ? '' : `: ${short}`) : `: ${error.message}`
  if (conn.closed || conn.session.destroyed) {
    // A system error of the socket (ECONNRESET) is the failure, as over HTTP/1.1: fetch shows its code as `cause.code`.
    const cause = error ?? conn.error
    const code = (cause as { code?: unknown } | undefined)?.code
    if (cause !== undefined && typeof code === 'string' && /^E[A-Z]+$/.test(code)) return cause
    return coded(`the HTTP/2 connection closed${detail}`, H2_CONN_LOST, rst)
  }
  return coded(`HTTP/2 stream reset by the server with ${h2CodeName(rst ?? constants.NGHTTP2_INTERNAL_ERROR)}${detail}`, H2_STREAM_RESET, rst)
}
