import { channel } from 'node:diagnostics_channel'

/** GotConnInfo describes the connection a request got, as Go's `httptrace.GotConnInfo`. */
export interface GotConnInfo {
  /** Whether the connection was used for an earlier request. */
  reused: boolean
  /** Whether the connection was taken from the idle pool. */
  wasIdle: boolean
  /** How long it was idle, in milliseconds (0 when `wasIdle` is false). */
  idleTime: number
  /** The protocol the connection speaks: `'http/1.1'` or `'h2'` (HTTP/2). */
  protocol: 'http/1.1' | 'h2'
  /**
   * Whether other requests are in flight on the same connection (HTTP/2
   * streams share it); always false for HTTP/1.1. For HTTP/2, `wasIdle` is
   * true when the connection had no stream open.
   */
  shared: boolean
  /** The socket's local address (undefined for a socket from the `dial` hook that has none). */
  localAddress: string | undefined
  /** The socket's local port. */
  localPort: number | undefined
  /** The address of the server end. */
  remoteAddress: string | undefined
  /** The port of the server end. */
  remotePort: number | undefined
}

/** ProxyConnectInfo names a tunnel through a proxy, for the proxy trace hooks and channels. */
export interface ProxyConnectInfo {
  /** The proxy URL, credentials shown as `***`. */
  proxy: string
  /** The tunnel's target, `host:port`. */
  target: string
}

/** GotInformationalInfo describes an interim (1xx) response, as Go's `Got1xxResponse` hook receives it. */
export interface GotInformationalInfo {
  /** The status, 100 to 199 (never 101, which is a protocol switch). */
  status: number
  /** The interim response's headers (`Link` for `103 Early Hints`). */
  headers: Headers
}

/**
 * ClientTrace is a set of optional hooks called at the stages of one
 * request, after Go's `httptrace.ClientTrace`. Attach it to a request with
 * core's `withContext(request, { trace })`. Hooks are called synchronously;
 * a hook that throws is reported as a process warning and does not break the
 * request.
 */
export interface ClientTrace {
  /** Before a connection is looked for; `hostPort` is the pool key (`https://host:port`). */
  getConn?(hostPort: string): void
  /** A connection was obtained. */
  gotConn?(info: GotConnInfo): void
  /** After the response body was read: the connection went back to the pool (no argument) or was closed (`error` says why). */
  putIdleConn?(error?: Error): void
  /** A new connection starts to be dialed. */
  connectStart?(network: string, address: string): void
  /** The dial finished, with `error` when it failed. */
  connectDone?(network: string, address: string, error?: Error): void
  /**
   * The proxy is asked for a tunnel to the target (CONNECT through an
   * HTTP(S) proxy, or the SOCKS5 handshake), after the connection to the
   * proxy and TLS to an `https://` proxy. Not called for `http:` requests an
   * HTTP proxy forwards (there is no tunnel).
   */
  proxyConnectStart?(info: ProxyConnectInfo): void
  /** The tunnel is established, or failed with `error` (`RT_PROXY_CONNECT_FAILED` when the proxy refused). */
  proxyConnectDone?(info: ProxyConnectInfo, error?: Error): void
  /** The TLS handshake starts. */
  tlsHandshakeStart?(): void
  /**
   * The TLS handshake finished, with the negotiated protocol and ALPN
   * protocol, and whether a cached session was resumed (Go's `DidResume`;
   * see `maxCachedSessions`), or `error`.
   */
  tlsHandshakeDone?(state: { protocol: string | null; alpnProtocol: string | false | null; resumed: boolean }, error?: Error): void
  /** The whole request (head and body) was written. */
  wroteRequest?(info: { error?: Error }): void
  /** The first byte of the response head arrived. */
  gotFirstResponseByte?(): void
  /**
   * An interim response (`100 Continue`, `102 Processing`, `103 Early Hints`,
   * …) arrived before the final one. The Transport skips it and waits for the
   * final response, as Go's transport and Node's fetch do.
   */
  got1xxResponse?(info: GotInformationalInfo): void
}

declare module '@roundtrip/core' {
  interface RequestContext {
    /** Trace hooks for this request; see {@link ClientTrace}. */
    trace?: ClientTrace
  }
}

/** callHook calls a trace hook, turning an exception into a process warning. */
export function callHook<K extends keyof ClientTrace>(
  trace: ClientTrace | undefined,
  name: K,
  ...args: Parameters<NonNullable<ClientTrace[K]>>
): void {
  const hook = trace?.[name] as ((...a: unknown[]) => void) | undefined
  if (hook === undefined) return
  try {
    hook.apply(trace, args)
  } catch (error) {
    process.emitWarning(`trace hook ${name} threw: ${String((error as Error)?.stack ?? error)}`, {
      code: 'RT_TRACE_HOOK_THREW',
    })
  }
}

/**
 * The `node:diagnostics_channel` channels the Transport publishes pool
 * events on. Each message carries `{ key }` (the pool key, `https://host:port`)
 * plus the fields named here. undici's own `undici:*` channels keep firing
 * for the same traffic.
 */
export const channels = {
  /** A connection is being dialed: `{ key }`. */
  connectStart: channel('roundtrip:conn:connect'),
  /** A dial finished: `{ key, error? }`. */
  connected: channel('roundtrip:conn:connected'),
  /** A tunnel through a proxy is being opened: `{ key, proxy, target }` (see {@link ProxyConnectInfo}). */
  proxyConnect: channel('roundtrip:proxy:connect'),
  /** The tunnel is established or failed: `{ key, proxy, target, error? }`. */
  proxyConnected: channel('roundtrip:proxy:connected'),
  /** A connection went back to the idle pool: `{ key, requests }`. */
  idle: channel('roundtrip:conn:idle'),
  /** A connection was closed: `{ key, reason }`. */
  closed: channel('roundtrip:conn:closed'),
  /** A request started waiting for a connection: `{ key, waiting }`. */
  queued: channel('roundtrip:pool:queued'),
  /** A request got a connection: `{ key, reused, wasIdle, protocol }`. */
  gotConn: channel('roundtrip:pool:got-conn'),
  /** A request gave up waiting (`maxWaitTime` or abort): `{ key, reason }`. */
  waitFailed: channel('roundtrip:pool:wait-failed'),
  /**
   * A request failed on a reused connection before any response byte and is
   * sent again on another one (see "Safe reuse"): `{ key, request, error }`,
   * `request` being `METHOD url` without credentials.
   */
  staleRetry: channel('roundtrip:pool:stale-retry'),
}

/** reportGotConn tells the trace (with the socket's addresses) and the channel that a request of pool `key` got a connection. */
export function reportGotConn(
  key: string,
  socket: unknown,
  trace: ClientTrace | undefined,
  info: Pick<GotConnInfo, 'reused' | 'wasIdle' | 'idleTime' | 'protocol' | 'shared'>,
): void {
  if (trace?.gotConn !== undefined) {
    const s = socket as { localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number }
    callHook(trace, 'gotConn', { ...info, localAddress: s.localAddress, localPort: s.localPort, remoteAddress: s.remoteAddress, remotePort: s.remotePort })
  }
  if (channels.gotConn.hasSubscribers) channels.gotConn.publish({ key, reused: info.reused, wasIdle: info.wasIdle, protocol: info.protocol })
}
