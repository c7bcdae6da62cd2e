import type { LookupFunction } from 'node:net'
import type { Duplex } from 'node:stream'
import type { ConnectionOptions } from 'node:tls'
import type { Clock } from './clock.js'
import type { ProxyOption } from './proxy.js'
import type { Http2Options, Protocol } from './h2-options.js'

/** DialInfo is what a {@link TransportOptions.dial} hook is told about the connection to make. */
export interface DialInfo {
  /**
   * The scheme of what the socket connects to: the target's (`http:` or
   * `https:`), or the proxy's when the connection goes through one
   * (`http:`, `https:`, `socks5:` or `socks5h:`), whatever the target's.
   * The Transport runs TLS over the socket when it is `https:` (and the
   * socket is not a `TLSSocket` already).
   */
  protocol: 'http:' | 'https:' | 'socks5:' | 'socks5h:'
  /** The host name or IP address to connect to, without brackets: the proxy's when the connection goes through one. */
  hostname: string
  /** The port number to connect to (the proxy's when the connection goes through one). */
  port: number
  /** The pool key: `scheme://host:port`, followed by ` via <proxy>` for a proxied connection. */
  key: string
  /** Aborted when `connectTimeout` expires or the transport closes. */
  signal: AbortSignal
}

/**
 * DialFunction supplies the socket for a new connection: a unix socket, a
 * pre-connected stream, a tunnel. For `https:` the Transport runs TLS over
 * the returned stream unless it is already a `TLSSocket`. The returned socket
 * must be connected (or connect on its own); it belongs to the Transport.
 */
export type DialFunction = (info: DialInfo) => Duplex | Promise<Duplex>

/** TLS options for `https:` connections, passed to `tls.connect`. */
export type TlsOptions = Pick<
  ConnectionOptions,
  'ca' | 'cert' | 'key' | 'passphrase' | 'pfx' | 'rejectUnauthorized' | 'servername' | 'ciphers' | 'minVersion' | 'maxVersion' | 'checkServerIdentity'
>

/**
 * TransportOptions configure a {@link Transport}. Durations are
 * milliseconds; for each of them 0 means no limit, and so do `Infinity` and
 * any value of 2³¹ ms (about 24.8 days) or more (Node's timers cannot hold
 * longer delays). An unknown option name or a value of the wrong type throws
 * `RT_INVALID_OPTION`, naming the closest known option.
 */
export interface TransportOptions {
  /** Idle connections kept across all hosts; the least recently used beyond it is closed. 0 means no limit. Default {@link DEFAULT_MAX_IDLE_CONNS}. */
  maxIdleConns?: number
  /** Idle connections kept per host. 0 means none are kept. Default {@link DEFAULT_MAX_IDLE_CONNS_PER_HOST}. */
  maxIdleConnsPerHost?: number
  /** Connections per host, counting dialing, busy and idle ones; more requests wait in a FIFO queue. 0 means no limit (the default). */
  maxConnsPerHost?: number
  /**
   * How long a request may wait in the queue for a connection before it
   * rejects with `RT_POOL_EXHAUSTED` naming the requests that hold the
   * connections. 0 or undefined means no limit.
   */
  maxWaitTime?: number
  /**
   * How long a connection may stay idle before it is closed. 0 means no
   * limit. Default {@link DEFAULT_IDLE_CONN_TIMEOUT}: below the 5 s after
   * which Node's http server closes idle sockets, so a reused connection is
   * rarely one the server is closing. A `Keep-Alive: timeout=N` response
   * header shortens it for that connection (minus a 1 s margin).
   */
  idleConnTimeout?: number
  /** Time allowed for TCP connect and TLS handshake. 0 means no limit. Default {@link DEFAULT_CONNECT_TIMEOUT}. */
  connectTimeout?: number
  /**
   * Time from the request being sent to the whole response head being
   * received. 0 means no limit. Default {@link DEFAULT_RESPONSE_HEADER_TIMEOUT}.
   * Limits under 1 s run on a precise timer; longer ones on undici's coarse
   * timers, which may fire up to about 1 s late.
   */
  responseHeaderTimeout?: number
  /**
   * Longest gap between two chunks of the response body. 0 means no limit.
   * Default {@link DEFAULT_BODY_TIMEOUT}. Time the reader leaves the body
   * unread (back-pressure) does not count. As `responseHeaderTimeout`, limits
   * under 1 s are precise, longer ones may fire up to about 1 s late.
   */
  bodyTimeout?: number
  /** Use each connection for one request only (sends `connection: close`). Default false. */
  disableKeepAlives?: boolean
  /**
   * Dial a second connection when the host's only connection was released
   * in the current turn of the event loop (sequential traffic). Such a
   * connection cannot be written on yet: only once the turn has ended and
   * undici has checked the socket (a close or stray bytes the server sent
   * behind the response are read only then). So the request treats it as
   * not yet idle and races a dial against the wait for it, as Go's
   * `getConn` races a dial when no idle connection is free; whichever is
   * ready first takes the request, the other stays idle. Requests always
   * prefer a connection idle since an earlier turn, so sequential requests
   * then alternate two connections and never wait for a turn to end (as
   * undici's `Pool` does in effect): one dial more per host, and a
   * deliberate departure from Go, whose sequential requests reuse one
   * connection (`false` restores that). With other connections to the host
   * (requests in flight together) nothing is raced. Only below
   * `maxConnsPerHost`, where both connections may stay idle
   * (`maxIdleConnsPerHost`, `maxIdleConns`), and for HTTP/1.1.
   *
   * The request's trace hears the race dial's `connectStart` and
   * `connectDone` (with its error, if it fails) even when the request is
   * served by the other connection. A race dial that fails while the
   * connection waited for is good fails no request. If that connection
   * turns out closed at the end of the turn, the request waits for the race
   * dial (or a connection freed first) as for a dial of its own, and that
   * dial's failure fails it. `false`: the request waits for the connection
   * released in this turn, and sequential requests use one. Default true.
   */
  raceDial?: boolean
  /**
   * Do not ask for compressed responses and do not decode them. By default
   * the Transport sends `accept-encoding: gzip, deflate, br` when the request
   * has none, and decodes gzip, deflate and br bodies as Node's fetch does
   * (the `content-encoding` header is kept, as Node's fetch keeps it).
   */
  disableCompression?: boolean
  /** Largest response head accepted, in bytes. Default {@link DEFAULT_MAX_RESPONSE_HEADER_BYTES}. */
  maxResponseHeaderBytes?: number
  /** TLS options for `https:` origins (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`, …). */
  tls?: TlsOptions
  /**
   * TLS sessions kept for resumption: a new connection to a server this
   * transport has talked to before offers its last session ticket and, if
   * the server takes it, skips the full handshake (the trace's
   * `tlsHandshakeDone` says `resumed`). One per server name and port (an
   * `https://` proxy included), least recently used out first. 0 turns
   * resumption off. Default {@link DEFAULT_MAX_CACHED_SESSIONS}.
   */
  maxCachedSessions?: number
  /** Supplies the socket for new connections instead of a TCP connect; see {@link DialFunction}. */
  dial?: DialFunction
  /**
   * Resolves host names for TCP connections (to the target, or to the proxy)
   * and for `socks5://` proxies, instead of `dns.lookup`: the same function
   * `net.connect` takes (`(hostname, options, callback)`, answering one
   * address, or all of them when `options.all` is true, as Happy Eyeballs
   * asks). Plug a DNS cache here. Not used with `dial`, nor for IP
   * literals.
   */
  lookup?: LookupFunction
  /**
   * Happy Eyeballs (RFC 8305) for host names with IPv6 and IPv4 addresses:
   * try them in turn, each for `autoSelectFamilyAttemptTimeout` ms, until
   * one connects, instead of only the first address. Default: Node's
   * default (`net.getDefaultAutoSelectFamily()`, true since Node 20).
   */
  autoSelectFamily?: boolean
  /**
   * How long, in ms, Happy Eyeballs waits for one address before it tries
   * the next as well. At least 10. Default: Node's
   * (`net.getDefaultAutoSelectFamilyAttemptTimeout()`, 250 ms).
   */
  autoSelectFamilyAttemptTimeout?: number
  /** Bytes of response body buffered ahead of the reader before the socket is paused. Default 64 KiB. */
  bodyHighWaterMark?: number
  /**
   * Largest response body accepted, in decoded bytes (after gzip, deflate or
   * br): past it the body fails with `RT_RESPONSE_TOO_LARGE` and the
   * connection is closed. It bounds what a decompression bomb can cost a
   * reader that buffers the whole body (`arrayBuffer()`, `text()`). 0 or
   * undefined means no limit (the default, as Node's fetch and Go).
   */
  maxResponseBodySize?: number
  /**
   * The proxy to send requests through: a proxy URL (`http://`, `https://`,
   * `socks5://`, `socks5h://`; `user:password@` becomes `Proxy-Authorization:
   * Basic …` or SOCKS5 credentials) for every request, or a
   * {@link ProxyFunction} that chooses per request URL (`null`/`undefined`
   * means direct). `proxyFromEnvironment()` builds one from `HTTP_PROXY`,
   * `HTTPS_PROXY` and `NO_PROXY`. Undefined (the default) means no proxy:
   * the environment is not read unless asked.
   *
   * Through an `http(s)://` proxy, `http:` requests are forwarded in
   * absolute-form over keep-alive connections to the proxy; `https:` requests
   * go through a CONNECT tunnel, one pooled connection per tunnel, with TLS
   * to the target over it.
   */
  proxy?: ProxyOption | null
  /**
   * Headers added to each CONNECT request sent to an HTTP(S) proxy (Go's
   * `ProxyConnectHeader`), or a function of the tunnel's `host:port` and
   * the proxy URL (credentials removed) that returns them (Go's
   * `GetProxyConnectHeader`).
   */
  proxyConnectHeaders?: Record<string, string> | ProxyConnectHeadersFunction
  /** TLS options for the connection to an `https://` proxy (`ca`, `rejectUnauthorized`, …); the target's are in `tls`. */
  proxyTls?: TlsOptions
  /**
   * The protocols the Transport may speak (Go's `Transport.Protocols`): a
   * non-empty list of `'http1'`, `'http2'` and `'h2c'`. Default
   * `['http1', 'http2']`: over TLS, ALPN offers `h2` and `http/1.1` and the
   * server chooses; `http:` URLs use HTTP/1.1. `['h2c']` speaks HTTP/2 with
   * prior knowledge to `http:` URLs; `['http1']` never speaks HTTP/2. A URL
   * whose scheme no listed protocol serves (an `https:` URL with `['h2c']`)
   * rejects with `RT_INVALID_REQUEST`. `http:` requests forwarded by an HTTP
   * proxy always use HTTP/1.1.
   */
  protocols?: Protocol[]
  /** HTTP/2 tuning: PING health checks, stream limits, flow-control windows; see {@link Http2Options}. */
  http2?: Http2Options
  /**
   * Send `http:` requests through an `http(s)://` proxy in a CONNECT tunnel
   * (one pooled connection per target, requests in origin-form), as
   * undici's `ProxyAgent` does by default, instead of forwarding them in
   * absolute-form over connections to the proxy shared by every target (as
   * Go and curl do). For proxies that refuse to forward, or to keep the
   * proxy out of the plain-text exchange. `https:` targets always tunnel.
   * Default false.
   */
  proxyTunnel?: boolean
  /**
   * The clock the Transport's deadlines run on (see {@link Clock}): idle
   * timeouts and `Keep-Alive` hints, `maxWaitTime`, `connectTimeout`, header
   * and body timeouts under 1 s, and the ages in `stats()`. Default
   * {@link systemClock}. A test passes a manual clock to advance time
   * instead of sleeping.
   */
  clock?: Clock
}

/** ProxyConnectHeadersFunction gives the extra headers of one CONNECT request: `target` is `host:port`, `proxy` the proxy URL without credentials. */
export type ProxyConnectHeadersFunction = (target: string, proxy: string) => Record<string, string> | undefined | Promise<Record<string, string> | undefined>

/**
 * The longest duration a timer can hold (2³¹−1 ms, about 24.8 days). Node
 * clamps longer `setTimeout` delays to 1 ms; a duration option at or above
 * it means "no practical limit" and is treated as 0 (no limit).
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1

/** Default {@link TransportOptions.maxIdleConns}. */
export const DEFAULT_MAX_IDLE_CONNS = 512
/** Default {@link TransportOptions.maxIdleConnsPerHost}: enough to keep a concurrency of 128 warm. */
export const DEFAULT_MAX_IDLE_CONNS_PER_HOST = 128
/** Default {@link TransportOptions.idleConnTimeout}, in ms. */
export const DEFAULT_IDLE_CONN_TIMEOUT = 4_000
/** Default {@link TransportOptions.connectTimeout}, in ms (as undici). */
export const DEFAULT_CONNECT_TIMEOUT = 10_000
/** Default {@link TransportOptions.responseHeaderTimeout}, in ms (as undici). */
export const DEFAULT_RESPONSE_HEADER_TIMEOUT = 300_000
/** Default {@link TransportOptions.bodyTimeout}, in ms (as undici). */
export const DEFAULT_BODY_TIMEOUT = 300_000
/** Default {@link TransportOptions.maxResponseHeaderBytes} (as Node's http parser). */
export const DEFAULT_MAX_RESPONSE_HEADER_BYTES = 16 * 1024
