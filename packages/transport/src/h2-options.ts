import { durationOption, integerOption, invalidOption } from './option-values.js'

/**
 * Protocol is one wire protocol a {@link TransportOptions.protocols} list
 * enables, after Go 1.24's `Transport.Protocols`:
 * - `'http1'`: HTTP/1.1, over TLS for `https:` and in the clear for `http:`;
 * - `'http2'`: HTTP/2 over TLS, when the server picks `h2` through ALPN;
 * - `'h2c'`: HTTP/2 with prior knowledge in the clear, for `http:` URLs.
 */
export type Protocol = 'http1' | 'http2' | 'h2c'

/** Default {@link TransportOptions.protocols}: ALPN offers `h2` and `http/1.1` over TLS; `http:` speaks HTTP/1.1. */
export const DEFAULT_PROTOCOLS: readonly Protocol[] = ['http1', 'http2']

/**
 * Http2Options tune HTTP/2 connections (see {@link TransportOptions.http2}).
 * Durations are milliseconds; window sizes are bytes.
 */
export interface Http2Options {
  /**
   * How long an idle HTTP/2 connection (no stream open) goes before it is
   * sent a PING to check that the server still answers (Go's
   * `ReadIdleTimeout`). 0 means never. Default {@link DEFAULT_H2_PING_INTERVAL}.
   * An idle connection is closed after `idleConnTimeout` anyway: the PING
   * matters when that is longer than this.
   */
  pingInterval?: number
  /**
   * How long to wait for the answer to that PING before the connection is
   * closed as dead (Go's `PingTimeout`). 0 means no limit. Default
   * {@link DEFAULT_H2_PING_TIMEOUT}.
   */
  pingTimeout?: number
  /**
   * When every HTTP/2 connection to a host carries as many streams as the
   * server allows (its `SETTINGS_MAX_CONCURRENT_STREAMS`), wait for a free
   * stream instead of opening another connection (Go's
   * `StrictMaxConcurrentStreams`). Default false.
   */
  strictMaxConcurrentStreams?: boolean
  /**
   * The receive window of each stream (`SETTINGS_INITIAL_WINDOW_SIZE`): how
   * many response body bytes the server may send ahead of the reader. An
   * unread body holds at most this much (plus `bodyHighWaterMark`). Default
   * {@link DEFAULT_H2_STREAM_WINDOW}.
   */
  initialWindowSize?: number
  /**
   * The receive window of the whole connection. Large, as Go's (1 GiB), so
   * that unread bodies, each bounded by `initialWindowSize`, never starve the
   * other streams of the connection. Default {@link DEFAULT_H2_CONNECTION_WINDOW}.
   */
  connectionWindowSize?: number
}

/** Default {@link Http2Options.pingInterval}, in ms. */
export const DEFAULT_H2_PING_INTERVAL = 15_000
/** Default {@link Http2Options.pingTimeout}, in ms (as Go). */
export const DEFAULT_H2_PING_TIMEOUT = 15_000
/** Default {@link Http2Options.initialWindowSize}: 1 MiB. */
export const DEFAULT_H2_STREAM_WINDOW = 1024 * 1024
/** Default {@link Http2Options.connectionWindowSize}: 1 GiB, as Go's transport. */
export const DEFAULT_H2_CONNECTION_WINDOW = 1024 * 1024 * 1024

/** The largest flow-control window HTTP/2 allows (2³¹−1). */
const MAX_WINDOW = 2 ** 31 - 1

/** Http2Options after defaults and validation. */
export interface ResolvedHttp2Options {
  pingInterval: number
  pingTimeout: number
  strictMaxConcurrentStreams: boolean
  initialWindowSize: number
  connectionWindowSize: number
}

/** The protocol choices resolved from {@link TransportOptions.protocols}. */
export interface ResolvedProtocols {
  /** HTTP/1.1 is allowed. */
  http1: boolean
  /** HTTP/2 over TLS is offered through ALPN. */
  http2: boolean
  /** `http:` URLs speak HTTP/2 with prior knowledge. */
  h2c: boolean
  /** The ALPN list offered to an `https:` target, most preferred first. */
  alpn: string[]
}

const KNOWN_PROTOCOLS: ReadonlySet<string> = new Set(['http1', 'http2', 'h2c'])
const KNOWN_HTTP2: ReadonlySet<string> = new Set(['pingInterval', 'pingTimeout', 'strictMaxConcurrentStreams', 'initialWindowSize', 'connectionWindowSize'])

/** resolveProtocols checks the `protocols` option (a non-empty list of known names, without repeats). */
export function resolveProtocols(value: unknown): ResolvedProtocols {
  const list = value === undefined ? DEFAULT_PROTOCOLS : value
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidOption(`invalid Transport option protocols: expected a non-empty array of 'http1', 'http2', 'h2c', got ${JSON.stringify(value) ?? String(value)}`)
  }
  const seen = new Set<string>()
  for (const name of list) {
    if (typeof name !== 'string' || !KNOWN_PROTOCOLS.has(name)) {
      throw invalidOption(`invalid Transport option protocols: unknown protocol ${JSON.stringify(name) ?? String(name)} (known: 'http1', 'http2', 'h2c')`)
    }
    if (seen.has(name)) throw invalidOption(`invalid Transport option protocols: ${name} is listed twice`)
    seen.add(name)
  }
  const http1 = seen.has('http1')
  const http2 = seen.has('http2')
  const alpn = http2 ? (http1 ? ['h2', 'http/1.1'] : ['h2']) : ['http/1.1']
  return { http1, http2, h2c: seen.has('h2c'), alpn }
}

/** resolveHttp2 applies the defaults of the `http2` option and checks it, throwing `RT_INVALID_OPTION`. */
export function resolveHttp2(value: unknown): ResolvedHttp2Options {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw invalidOption('invalid Transport option http2: expected an object of HTTP/2 options')
  }
  const options = (value ?? {}) as Record<string, unknown>
  for (const key of Object.keys(options)) {
    if (!KNOWN_HTTP2.has(key)) throw invalidOption(`unknown Transport option http2.${key}; known: ${[...KNOWN_HTTP2].join(', ')}`)
  }
  const strict = options['strictMaxConcurrentStreams']
  if (strict !== undefined && typeof strict !== 'boolean') {
    throw invalidOption(`invalid Transport option http2.strictMaxConcurrentStreams: expected true or false, got ${JSON.stringify(strict) ?? String(strict)}`)
  }
  return {
    pingInterval: durationOption(options, 'pingInterval', DEFAULT_H2_PING_INTERVAL, 'http2.pingInterval'),
    pingTimeout: durationOption(options, 'pingTimeout', DEFAULT_H2_PING_TIMEOUT, 'http2.pingTimeout'),
    strictMaxConcurrentStreams: strict === true,
    // 65535 is the smallest connection window (its initial value); a stream window may be smaller.
    initialWindowSize: integerOption(options, 'initialWindowSize', DEFAULT_H2_STREAM_WINDOW, 1, 'http2.initialWindowSize', ' (bytes)', MAX_WINDOW),
    connectionWindowSize: integerOption(options, 'connectionWindowSize', DEFAULT_H2_CONNECTION_WINDOW, 65_535, 'http2.connectionWindowSize', ' (bytes)', MAX_WINDOW),
  }
}
