import { constants, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import { H2_CONN_LOST, H2_STREAM_RESET, H2_UNPROCESSED as UNPROCESSED } from './errors-map.js'
import type { H2Conn } from './h2-conn.js'
import { lowerCase } from './headers.js'

// What an HTTP/2 stream puts on the wire and what its failures are called:
// the request head, the response head as pairs, the errors of a stream that
// closed early. Pure functions; the stream's lifecycle is in h2-stream.ts.

/** The name of each HTTP/2 error code, for messages. */
const CODE_NAMES = new Map<number, string>(
  Object.entries(constants)
    .filter(([name]) => /^NGHTTP2_(NO_ERROR|[A-Z_]+_ERROR|SETTINGS_TIMEOUT|STREAM_CLOSED|REFUSED_STREAM|CANCEL|ENHANCE_YOUR_CALM|INADEQUATE_SECURITY|HTTP_1_1_REQUIRED)$/.test(name))
    .map(([name, value]) => [value as number, name.slice('NGHTTP2_'.length)]),
)

/** h2CodeName is `CANCEL (code 8)`. */
function h2CodeName(code: number): string {
  return `${CODE_NAMES.get(code) ?? 'UNKNOWN'} (code ${code})`
}

/** coded makes a stream failure with a stable `code` (and the HTTP/2 reset code, if any). */
export function coded(message: string, code: string, rstCode?: number): Error {
  const error = Object.assign(new Error(message), { code, rstCode })
  // As undici names its own (Node's fetch shows it as the cause).
  if (code === H2_CONN_LOST) error.name = 'SocketError'
  return error
}

/**
 * A character undici's HTTP/1.1 client refuses in a header value (its
 * `headerCharRegex`): node:http2 would send some (a CR LF, which a server
 * drops) and have the stream reset for others, where undici fails the
 * request before sending it.
 */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/**
 * requestHeaders builds the HTTP/2 head of a request from its method, path,
 * authority and the Transport's header list (`host` becomes `:authority`).
 * A name given twice is sent once with its values joined by `, ` (RFC 9110
 * §5.3), as undici's HTTP/2 client does: node:http2 refuses a second value
 * for the names that take one (`content-type`, …). `cookie` is kept as
 * separate fields, as undici keeps it (RFC 9113 §8.2.3 lets them be split).
 * A value with a character undici refuses throws `UND_ERR_INVALID_ARG`
 * (`invalid <name> header`, undici's message), before anything is sent; so
 * does a name starting with `:` (`invalid header key`, as undici's HTTP/1.1
 * client says): the pseudo-headers are ours.
 */
export function requestHeaders(method: string, scheme: string, authority: string, path: string, list: string[]): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ':method': method, ':scheme': scheme, ':authority': authority, ':path': path }
  for (let i = 0; i < list.length; i += 2) {
    // HTTP/2 names are lower case (RFC 9113 §8.2.1); a head may carry them as the caller wrote them (for HTTP/1.1).
    const name = lowerCase(list[i]!)
    const value = list[i + 1]!
    // A pseudo-header name (an undici dispatch's `[':method', 'DELETE']`) is no header: refused as undici's HTTP/1.1 client refuses it, not joined into ours.
    if (name.charCodeAt(0) === 58 /* ':' */) throw Object.assign(new Error('invalid header key'), { code: 'UND_ERR_INVALID_ARG' })
    if (BAD_VALUE.test(value)) throw Object.assign(new Error(`invalid ${name} header`), { code: 'UND_ERR_INVALID_ARG' })
    if (name === 'host') {
      headers[':authority'] = value
      continue
    }
    const previous = headers[name]
    if (previous === undefined) headers[name] = value
    else if (name !== 'cookie') headers[name] = `${String(previous)}, ${value}`
    else if (Array.isArray(previous)) previous.push(value)
    else headers[name] = [String(previous), value]
  }
  return headers
}

/** responsePairs flattens a response head to `[name, value, …]` without the pseudo-headers. */
export function responsePairs(headers: IncomingHttpHeaders): string[] {
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

/** requestError is the failure of `session.request()` itself: a session closing under us (nothing was sent), or a bad head. */
export function requestError(error: unknown): Error {
  const code = (error as { code?: string }).code ?? ''
  // A session closing under us (GOAWAY just arrived): nothing was sent.
  return /SESSION|GOAWAY|STREAM_ID|OUT_OF_STREAMS/.test(code)
    ? coded(`the HTTP/2 connection took no new stream: ${(error as Error).message}`, UNPROCESSED)
    : Object.assign(error as Error, { code: 'UND_ERR_INVALID_ARG' })
}

/** closeError says why a stream closed before its end: not processed, the connection lost, or reset by the server. */
export function closeError(stream: ClientHttp2Stream, conn: H2Conn, error: Error | undefined, responded: boolean, short?: string): Error {
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
