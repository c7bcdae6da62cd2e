import { channel } from 'node:diagnostics_channel'
import { inspect } from 'node:util'

/**
 * GotConnInfo describes the connection a request got, as Go's `httptrace.GotConnInfo`.
 * The Transport passes an object whose four address fields are read-only
 * getters on its prototype (read from a snapshot taken once per connection,
 * valid after the socket is gone): `structuredClone(info)`, `Object.keys(info)`
 * and `{ ...info }` do not copy them; read them by name to keep them.
 */
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
  readonly localAddress: string | undefined
  /** The socket's local port. */
  readonly localPort: number | undefined
  /** The address of the server end. */
  readonly remoteAddress: string | undefined
  /** The port of the server end. */
  readonly remotePort: number | undefined
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
  /** A request started waiting for a connection: `{ key, waiting, request }`, `request` the waiting `Request` (undefined for an undici dispatch). */
  queued: channel('roundtrip:pool:queued'),
  /**
   * A request announced on `queued` left the queue: `{ key, request, gotConn }`,
   * `request` as in `queued`, `gotConn` true when it was handed a connection
   * (an HTTP/2 one: a stream of it), false when it left without one (abort,
   * `maxWaitTime`, a failed dial, the transport closing). Each `queued` is
   * followed by one `dequeued`, so a layer above can tell which of its calls
   * still wait.
   */
  dequeued: channel('roundtrip:pool:dequeued'),
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

/** reportStaleRetry publishes, for pool `key`, that `request` (`METHOD url`, no credentials) is sent again after its reused conn failed with `error`. */
export function reportStaleRetry(key: string, request: string, error: unknown): void {
  if (channels.staleRetry.hasSubscribers) channels.staleRetry.publish({ key, request, error })
}

/** The socket address fields of {@link GotConnInfo}. */
type SocketAddresses = Pick<GotConnInfo, 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort'>

/**
 * Each socket's addresses, read once, the first time a `gotConn` hook is
 * called for a request on it: a socket forgets its local address once it is
 * destroyed, and a hook may keep the info and read it later. A WeakMap, not
 * a field, so that both conn kinds share it and a socket leaves with its conn.
 */
const snapshots = new WeakMap<object, SocketAddresses>()

function addressesOf(socket: object): SocketAddresses {
  let addresses = snapshots.get(socket)
  if (addresses === undefined) {
    const s = socket as Partial<SocketAddresses>
    addresses = { localAddress: s.localAddress, localPort: s.localPort, remoteAddress: s.remoteAddress, remotePort: s.remotePort }
    snapshots.set(socket, addresses)
  }
  return addresses
}

/**
 * ConnInfo is the {@link GotConnInfo} a `gotConn` hook receives: the
 * request's facts are fields; the socket's addresses are getters on the
 * prototype over the conn's snapshot, so copying four values is paid only by
 * a hook that reads them. `{ ...info }` copies the fields alone;
 * `JSON.stringify(info)` and `util.inspect` show all of them.
 */
class ConnInfo implements GotConnInfo {
  readonly reused: boolean
  readonly wasIdle: boolean
  readonly idleTime: number
  readonly protocol: 'http/1.1' | 'h2'
  readonly shared: boolean
  readonly #addresses: SocketAddresses

  constructor(reused: boolean, wasIdle: boolean, idleTime: number, protocol: 'http/1.1' | 'h2', shared: boolean, addresses: SocketAddresses) {
    this.reused = reused
    this.wasIdle = wasIdle
    this.idleTime = idleTime
    this.protocol = protocol
    this.shared = shared
    this.#addresses = addresses
  }

  get localAddress(): string | undefined {
    return this.#addresses.localAddress
  }

  get localPort(): number | undefined {
    return this.#addresses.localPort
  }

  get remoteAddress(): string | undefined {
    return this.#addresses.remoteAddress
  }

  get remotePort(): number | undefined {
    return this.#addresses.remotePort
  }

  toJSON(): GotConnInfo {
    const { reused, wasIdle, idleTime, protocol, shared } = this
    return { reused, wasIdle, idleTime, protocol, shared, ...this.#addresses }
  }

  [inspect.custom](): GotConnInfo {
    return this.toJSON()
  }
}

/**
 * reportGotConn tells the trace (a {@link ConnInfo}, with the socket's
 * addresses) and the channel that a request of pool `key` got a connection.
 */
export function reportGotConn(
  key: string,
  socket: object,
  trace: ClientTrace | undefined,
  reused: boolean,
  wasIdle: boolean,
  idleTime: number,
  protocol: 'http/1.1' | 'h2',
  shared: boolean,
): void {
  if (trace?.gotConn !== undefined) callHook(trace, 'gotConn', new ConnInfo(reused, wasIdle, idleTime, protocol, shared, addressesOf(socket)))
  if (channels.gotConn.hasSubscribers) channels.gotConn.publish({ key, reused, wasIdle, protocol })
}
