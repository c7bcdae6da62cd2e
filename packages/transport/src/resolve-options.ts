import type { LookupFunction } from 'node:net'
import { DEFAULT_BODY_HIGH_WATER_MARK, type BodyOptions } from '@roundtrip/core'
import { systemClock, type Clock } from './clock.js'
import { ERR_INVALID_OPTION, TransportError } from './errors.js'
import { proxyChoice, type ProxyChoice } from './proxy.js'
import { resolveHttp2, resolveProtocols, type ResolvedHttp2Options, type ResolvedProtocols } from './h2-options.js'
import { DEFAULT_MAX_CACHED_SESSIONS, TlsSessionCache } from './tls-sessions.js'
import { durationOption, integerOption, invalidOption } from './option-values.js'
import {
  DEFAULT_BODY_TIMEOUT,
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_IDLE_CONN_TIMEOUT,
  DEFAULT_MAX_IDLE_CONNS,
  DEFAULT_MAX_IDLE_CONNS_PER_HOST,
  DEFAULT_MAX_RESPONSE_HEADER_BYTES,
  DEFAULT_RESPONSE_HEADER_TIMEOUT,
  type DialFunction,
  type ProxyConnectHeadersFunction,
  type TlsOptions,
  type TransportOptions,
} from './options.js'

// The Transport's options after defaults and validation (the public option
// types and defaults are in options.ts).

/** Options after defaults and validation. */
export interface ResolvedOptions {
  maxIdleConns: number
  maxIdleConnsPerHost: number
  maxConnsPerHost: number
  maxWaitTime: number
  idleConnTimeout: number
  connectTimeout: number
  responseHeaderTimeout: number
  bodyTimeout: number
  disableKeepAlives: boolean
  raceDial: boolean
  disableCompression: boolean
  maxResponseHeaderBytes: number
  tls: TlsOptions | undefined
  /** The transport's TLS sessions (state, one per transport: see {@link TlsSessionCache}). */
  tlsSessions: TlsSessionCache
  dial: DialFunction | undefined
  lookup: LookupFunction | undefined
  autoSelectFamily: boolean | undefined
  autoSelectFamilyAttemptTimeout: number | undefined
  /** The options of every response body (`createBody`'s: the `bodyHighWaterMark` option), one object for all. */
  bodyOptions: Readonly<BodyOptions>
  maxResponseBodySize: number
  proxy: ProxyChoice | undefined
  proxyConnectHeaders: Record<string, string> | ProxyConnectHeadersFunction | undefined
  proxyTls: TlsOptions | undefined
  protocols: ResolvedProtocols
  http2: ResolvedHttp2Options
  proxyTunnel: boolean
  clock: Clock
}

/** Every option {@link TransportOptions} knows, for the unknown-key check. */
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'maxIdleConns',
  'maxIdleConnsPerHost',
  'maxConnsPerHost',
  'maxWaitTime',
  'idleConnTimeout',
  'connectTimeout',
  'responseHeaderTimeout',
  'bodyTimeout',
  'disableKeepAlives',
  'raceDial',
  'disableCompression',
  'maxResponseHeaderBytes',
  'tls',
  'maxCachedSessions',
  'dial',
  'lookup',
  'autoSelectFamily',
  'autoSelectFamilyAttemptTimeout',
  'bodyHighWaterMark',
  'maxResponseBodySize',
  'proxy',
  'proxyConnectHeaders',
  'proxyTls',
  'protocols',
  'http2',
  'proxyTunnel',
  'clock',
])

function flag(options: TransportOptions, name: 'disableKeepAlives' | 'raceDial' | 'disableCompression' | 'autoSelectFamily' | 'proxyTunnel'): boolean | undefined {
  const value = options[name]
  if (value === undefined) return undefined
  if (typeof value !== 'boolean') throw invalidOption(`invalid Transport option ${name}: expected true or false, got ${JSON.stringify(value) ?? String(value)}`)
  return value
}

/** checkKeys rejects an option name the Transport does not know, suggesting the closest known one. */
function checkKeys(options: object): void {
  for (const key of Object.keys(options)) {
    if (KNOWN_OPTIONS.has(key)) continue
    let best = ''
    let bestDistance = Number.POSITIVE_INFINITY
    for (const known of KNOWN_OPTIONS) {
      const d = editDistance(key.toLowerCase(), known.toLowerCase())
      if (d < bestDistance) {
        best = known
        bestDistance = d
      }
    }
    const hint = bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean ${best}?)` : ''
    throw invalidOption(`unknown Transport option ${key}${hint}; known options: ${[...KNOWN_OPTIONS].join(', ')}`)
  }
}

/** editDistance is the Levenshtein distance between `a` and `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/** resolveOptions applies defaults and checks every option, throwing `RT_INVALID_OPTION`. */
export function resolveOptions(options: TransportOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('Transport options must be an object')
  }
  checkKeys(options)
  if (options.dial !== undefined && typeof options.dial !== 'function') {
    throw new TransportError(ERR_INVALID_OPTION, 'invalid Transport option dial: expected a function')
  }
  if (options.lookup !== undefined && typeof options.lookup !== 'function') {
    throw new TransportError(ERR_INVALID_OPTION, 'invalid Transport option lookup: expected a function (hostname, options, callback), as dns.lookup')
  }
  for (const name of ['tls', 'proxyTls'] as const) {
    const value = options[name]
    if (value !== undefined && (typeof value !== 'object' || value === null)) {
      throw new TransportError(ERR_INVALID_OPTION, `invalid Transport option ${name}: expected an object of TLS options`)
    }
  }
  const clock = options.clock
  if (clock !== undefined && (typeof clock !== 'object' || clock === null || !['now', 'setTimeout', 'clearTimeout'].every((name) => typeof (clock as unknown as Record<string, unknown>)[name] === 'function'))) {
    throw new TransportError(ERR_INVALID_OPTION, 'invalid Transport option clock: expected an object with now(), setTimeout(callback, ms) and clearTimeout(timer)')
  }
  const connectHeaders = options.proxyConnectHeaders
  if (connectHeaders !== undefined && typeof connectHeaders !== 'function' && (typeof connectHeaders !== 'object' || connectHeaders === null)) {
    throw new TransportError(ERR_INVALID_OPTION, 'invalid Transport option proxyConnectHeaders: expected an object of headers or a function (target, proxy) => headers')
  }
  return {
    maxIdleConns: integerOption(options, 'maxIdleConns', DEFAULT_MAX_IDLE_CONNS),
    maxIdleConnsPerHost: integerOption(options, 'maxIdleConnsPerHost', DEFAULT_MAX_IDLE_CONNS_PER_HOST),
    maxConnsPerHost: integerOption(options, 'maxConnsPerHost', 0),
    maxWaitTime: durationOption(options, 'maxWaitTime', 0),
    idleConnTimeout: durationOption(options, 'idleConnTimeout', DEFAULT_IDLE_CONN_TIMEOUT),
    connectTimeout: durationOption(options, 'connectTimeout', DEFAULT_CONNECT_TIMEOUT),
    responseHeaderTimeout: durationOption(options, 'responseHeaderTimeout', DEFAULT_RESPONSE_HEADER_TIMEOUT),
    bodyTimeout: durationOption(options, 'bodyTimeout', DEFAULT_BODY_TIMEOUT),
    disableKeepAlives: flag(options, 'disableKeepAlives') ?? false,
    raceDial: flag(options, 'raceDial') ?? true,
    disableCompression: flag(options, 'disableCompression') ?? false,
    maxResponseHeaderBytes: integerOption(options, 'maxResponseHeaderBytes', DEFAULT_MAX_RESPONSE_HEADER_BYTES, 1),
    tls: options.tls,
    tlsSessions: new TlsSessionCache(integerOption(options, 'maxCachedSessions', DEFAULT_MAX_CACHED_SESSIONS)),
    dial: options.dial,
    lookup: options.lookup,
    autoSelectFamily: flag(options, 'autoSelectFamily'),
    autoSelectFamilyAttemptTimeout: options.autoSelectFamilyAttemptTimeout === undefined ? undefined : integerOption(options, 'autoSelectFamilyAttemptTimeout', 0, 10),
    bodyOptions: { highWaterMark: integerOption(options, 'bodyHighWaterMark', DEFAULT_BODY_HIGH_WATER_MARK, 1) },
    maxResponseBodySize: integerOption(options, 'maxResponseBodySize', 0),
    proxy: proxyChoice(options.proxy),
    proxyConnectHeaders: connectHeaders,
    proxyTls: options.proxyTls,
    protocols: resolveProtocols(options.protocols),
    http2: resolveHttp2(options.http2),
    proxyTunnel: flag(options, 'proxyTunnel') ?? false,
    clock: clock ?? systemClock,
  }
}
