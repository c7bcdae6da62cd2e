import { redactUrl, RoundTripError, type RoundTripErrorOptions } from '@roundtrip/core'

/** Error code: the TCP connection was refused (nothing listens there). */
export const ERR_CONNECT_REFUSED = 'RT_CONNECT_REFUSED'
/** Error code: the connection (TCP and TLS) did not complete within `connectTimeout`. */
export const ERR_CONNECT_TIMEOUT = 'RT_CONNECT_TIMEOUT'
/** Error code: the connection failed for another reason (DNS, TLS certificate, reset during connect). */
export const ERR_CONNECT_FAILED = 'RT_CONNECT_FAILED'
/** Error code: no response head arrived within `responseHeaderTimeout`. */
export const ERR_HEADERS_TIMEOUT = 'RT_HEADERS_TIMEOUT'
/** Error code: no body bytes arrived for `bodyTimeout`. */
export const ERR_BODY_TIMEOUT = 'RT_BODY_TIMEOUT'
/** Error code: the response head exceeded `maxResponseHeaderBytes`. */
export const ERR_HEADERS_TOO_LARGE = 'RT_HEADERS_TOO_LARGE'
/** Error code: the server sent something that is not valid HTTP/1.1. */
export const ERR_PROTOCOL = 'RT_PROTOCOL_ERROR'
/** Error code: the transport is closed and takes no new requests. */
export const ERR_TRANSPORT_CLOSED = 'RT_TRANSPORT_CLOSED'
/** Error code: the connection closed before the response was complete (reset, truncated body). */
export const ERR_SOCKET_CLOSED = 'RT_SOCKET_CLOSED'
/** Error code: a request waited longer than `maxWaitTime` for a connection. */
export const ERR_POOL_EXHAUSTED = 'RT_POOL_EXHAUSTED'
/** Error code: the request cannot be sent (unsupported scheme, invalid option, bad header). */
export const ERR_INVALID_REQUEST = 'RT_INVALID_REQUEST'
/** Error code: an option passed to `new Transport()` is invalid. */
export const ERR_INVALID_OPTION = 'RT_INVALID_OPTION'
/** Error code: the response body could not be decoded (corrupt or truncated gzip, deflate or br stream). Never retried. */
export const ERR_DECODING = 'RT_DECODING_ERROR'
/** Error code: the request body (a stream or async iterable the caller supplied) failed while it was being sent. */
export const ERR_REQUEST_BODY = 'RT_REQUEST_BODY_ERROR'
/** Error code: the decoded response body grew past `maxResponseBodySize`. */
export const ERR_RESPONSE_TOO_LARGE = 'RT_RESPONSE_TOO_LARGE'

/**
 * Error code: a proxy refused to open a tunnel (CONNECT answered with a
 * status other than 200, such as 407 Proxy Authentication Required) or closed
 * the connection during CONNECT or the SOCKS5 handshake. Never retried.
 */
export const ERR_PROXY_CONNECT_FAILED = 'RT_PROXY_CONNECT_FAILED'

/**
 * TransportError is the error the Transport rejects with (or errors a body
 * with). `code` is one of the `ERR_*` constants of this package, or core's
 * `RT_INVALID_STATUS`; `cause` is the underlying socket, TLS or undici error.
 * The message names the operation and the request (`GET http://host/path`,
 * credentials removed).
 */
export class TransportError extends RoundTripError {
  constructor(code: string, message: string, options?: RoundTripErrorOptions) {
    super(code, message, options)
    this.name = 'TransportError'
  }
}

/**
 * ProxyConnectError is the {@link TransportError} (`RT_PROXY_CONNECT_FAILED`)
 * of a proxy that would not open a tunnel. Its message names the proxy
 * (credentials hidden), the tunnel target and the proxy's answer.
 */
export class ProxyConnectError extends TransportError {
  /** The status the proxy answered CONNECT with, or undefined when it closed the connection or failed the SOCKS5 handshake. */
  readonly status: number | undefined
  /** The proxy URL, credentials shown as `***`. */
  readonly proxy: string

  constructor(message: string, proxy: string, status: number | undefined, options?: RoundTripErrorOptions) {
    super(ERR_PROXY_CONNECT_FAILED, message, options)
    this.name = 'TransportError'
    this.proxy = proxy
    this.status = status
  }
}

/**
 * requestLabel names a request in messages: `METHOD url`, credentials
 * removed. Built when a message needs it, not per request.
 */
export function requestLabel(method: string, href: string): string {
  return `${method} ${redactUrl(href)}`
}
