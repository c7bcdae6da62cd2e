export { Transport } from './transport.js'
export type { TransportOptions, DialFunction, DialInfo, TlsOptions, ProxyConnectHeadersFunction } from './options.js'
export type { ProxyFunction, ProxyOption } from './proxy.js'
export type { Protocol, Http2Options } from './h2-options.js'
export {
  DEFAULT_PROTOCOLS,
  DEFAULT_H2_PING_INTERVAL,
  DEFAULT_H2_PING_TIMEOUT,
  DEFAULT_H2_STREAM_WINDOW,
  DEFAULT_H2_CONNECTION_WINDOW,
} from './h2-options.js'
export { proxyFromEnvironment } from './proxy-env.js'
export { systemClock, type Clock, type ClockTimer } from './clock.js'
export {
  DEFAULT_MAX_IDLE_CONNS,
  DEFAULT_MAX_IDLE_CONNS_PER_HOST,
  DEFAULT_IDLE_CONN_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_RESPONSE_HEADER_TIMEOUT,
  DEFAULT_BODY_TIMEOUT,
  DEFAULT_MAX_RESPONSE_HEADER_BYTES,
} from './options.js'
export { DEFAULT_MAX_CACHED_SESSIONS } from './tls-sessions.js'
export type { TransportStats, HostStats, HolderInfo, Http2ConnStats } from './stats.js'
export type { ClientTrace, GotConnInfo, GotInformationalInfo, ProxyConnectInfo } from './trace.js'
export { channels } from './trace.js'
export {
  TransportError,
  ProxyConnectError,
  ERR_PROXY_CONNECT_FAILED,
  ERR_CONNECT_REFUSED,
  ERR_CONNECT_TIMEOUT,
  ERR_CONNECT_FAILED,
  ERR_HEADERS_TIMEOUT,
  ERR_BODY_TIMEOUT,
  ERR_HEADERS_TOO_LARGE,
  ERR_PROTOCOL,
  ERR_TRANSPORT_CLOSED,
  ERR_SOCKET_CLOSED,
  ERR_POOL_EXHAUSTED,
  ERR_INVALID_REQUEST,
  ERR_INVALID_OPTION,
  ERR_DECODING,
  ERR_REQUEST_BODY,
  ERR_RESPONSE_TOO_LARGE,
} from './errors.js'
