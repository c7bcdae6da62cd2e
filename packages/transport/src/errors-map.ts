import type { Readable } from 'node:stream'
import { isRoundTripError, type RoundTripError } from '@roundtrip/core'
import { CONN_NOT_REDIALED } from './conn.js'
import { bodyTimeoutError, headersTimeoutError } from './deadlines.js'
import {
  ERR_HEADERS_TOO_LARGE,
  ERR_INVALID_REQUEST,
  ERR_PROTOCOL,
  ERR_REQUEST_BODY,
  ERR_SOCKET_CLOSED,
  TransportError,
} from './errors.js'
import type { ResolvedOptions } from './resolve-options.js'

/**
 * The code of a failure on an HTTP/2 stream the server says it never
 * processed (`REFUSED_STREAM`, or above the last stream id of its GOAWAY):
 * the request is sent again on another connection whatever its method, when
 * its body can be sent again.
 */
export const H2_UNPROCESSED = 'RT_H2_UNPROCESSED'
/**
 * The code of a failure on an HTTP/2 stream whose connection closed under it
 * (without a system error such as ECONNRESET): undici's `UND_ERR_SOCKET`,
 * the code Node's fetch gives a lost connection over HTTP/1.1 and HTTP/2
 * alike, so that code written for Node's fetch reads `err.cause.code` the
 * same whatever the protocol.
 */
export const H2_CONN_LOST = 'UND_ERR_SOCKET'
/** The code of an HTTP/2 stream reset by the server (`RST_STREAM`); the error's `rstCode` is the HTTP/2 error code. */
export const H2_STREAM_RESET = 'RT_H2_STREAM_RESET'

/** Socket-level failures: the ones a stale keep-alive connection produces. */
const SOCKET_CODES = new Set([H2_CONN_LOST, 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'ECONNABORTED', CONN_NOT_REDIALED])

/** isSocketFailure reports whether an undici or socket error means the connection broke. */
export function isSocketFailure(error: unknown): boolean {
  return SOCKET_CODES.has((error as { code?: string } | null)?.code ?? '')
}

/**
 * mapError turns an undici or socket error into a coded TransportError
 * whose message names what failed and the request (`what`).
 */
export function mapError(error: unknown, what: string, options: ResolvedOptions, duringBody: boolean): RoundTripError {
  // Already coded (ours, or core's RT_INVALID_STATUS): keep it.
  if (isRoundTripError(error)) return error
  // The error of a Readable body the conn's Client read (watchBodyErrors): the caller's, not the connection's.
  if (readableFailures.has(error as object)) return requestBodyError(error, what)
  // A DOMException (a body cancelled with an AbortError or TimeoutError) has a numeric `code`.
  const raw = (error as { code?: unknown } | null)?.code
  const code = typeof raw === 'string' ? raw : ''
  const detail = (error as Error | null)?.message ?? String(error)
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return headersTimeoutError(options.responseHeaderTimeout, what, error)
    case 'UND_ERR_BODY_TIMEOUT':
      return bodyTimeoutError(options.bodyTimeout, what, error)
    case 'UND_ERR_HEADERS_OVERFLOW':
      return new TransportError(
        ERR_HEADERS_TOO_LARGE,
        `response head larger than maxResponseHeaderBytes (${options.maxResponseHeaderBytes}) (${what})`,
        { cause: error },
      )
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      // undici reports llhttp's framing errors (duplicate or malformed
      // Content-Length, Content-Length beside Transfer-Encoding) under this
      // code once a Content-Length was seen. Before the head was delivered
      // it can only be such an error; after it, the body was cut short.
      if (!duringBody) {
        return new TransportError(
          ERR_PROTOCOL,
          `invalid HTTP response: ambiguous body length (duplicate or malformed content-length, or content-length with transfer-encoding) (${what})`,
          { cause: error },
        )
      }
      return new TransportError(ERR_SOCKET_CLOSED, `connection closed before the whole response body arrived (${what})`, { cause: error })
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return new TransportError(ERR_INVALID_REQUEST, `cannot send request: ${detail} (${what})`, { cause: error })
  }
  const stage = duringBody ? 'while reading the response body' : 'before the response arrived'
  if (code === H2_STREAM_RESET) {
    // PROTOCOL_ERROR: the server found our stream malformed, or we its (Node resets a stream with a malformed head).
    const protocol = (error as { rstCode?: number }).rstCode === 1
    return new TransportError(protocol ? ERR_PROTOCOL : ERR_SOCKET_CLOSED, `${detail} ${stage} (${what})`, { cause: error })
  }
  if (code === H2_UNPROCESSED) return new TransportError(ERR_SOCKET_CLOSED, `${detail}; not retried (${what})`, { cause: error })
  if (code.startsWith('HPE_') || (error as Error | null)?.name === 'HTTPParserError') {
    return new TransportError(ERR_PROTOCOL, `invalid HTTP response: ${detail} (${what})`, { cause: error })
  }
  return new TransportError(ERR_SOCKET_CLOSED, `connection closed ${stage}: ${detail} (${what})`, { cause: error })
}

/**
 * requestBodyError is the error a request rejects with when its body (a
 * stream or async iterable the caller supplied) fails: `RT_REQUEST_BODY_ERROR`,
 * naming the request, with the body's error as `cause`. It is not a socket
 * failure and is never retried.
 */
export function requestBodyError(error: unknown, what: string): RoundTripError {
  if (isRoundTripError(error)) return error
  const detail = (error as Error | null)?.message ?? String(error)
  return new TransportError(ERR_REQUEST_BODY, `the request body failed: ${detail} (${what})`, { cause: error })
}

// Errors of Readable request bodies handed to an undici Client as they are (see watchBodyErrors).
const readableFailures = new WeakSet<object>()

/**
 * watchBodyErrors remembers the error a Readable request body fails with,
 * so that {@link mapError} reports it as {@link requestBodyError} (the
 * caller's source failed) rather than as a lost connection. The Readable
 * itself goes to undici's Client, which reads it with back-pressure.
 */
export function watchBodyErrors(body: Readable): Readable {
  // Listening before undici's Client does, so the error is known here when undici fails the request with it: undici's
  // errorRequest runs before the body's 'error' event for a socket failure it destroys the body with, one tick later.
  body.once('error', rememberBodyFailure)
  return body
}

/** watchBodyErrors' listener: a module function, not a closure per request body. */
function rememberBodyFailure(error: unknown): void {
  if (typeof error === 'object' && error !== null) readableFailures.add(error)
}

/**
 * tagBodyErrors passes a streamed request body through, turning its failures
 * into {@link requestBodyError}s. It is an iterable, not a one-shot
 * generator: a declared replayable body is iterated again on a retry.
 */
export function tagBodyErrors(body: AsyncIterable<Uint8Array>, what: string): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => tagged(body, what) }
}

async function* tagged(body: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Uint8Array> {
  try {
    yield* body
  } catch (error) {
    throw requestBodyError(error, what)
  }
}
