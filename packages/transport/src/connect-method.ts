import { isIP } from 'node:net'
import { lowerCase, type OutgoingHeaders } from './headers.js'

/** Target is the origin a request is for: scheme, host and port. */
export interface Target {
  protocol: 'http:' | 'https:'
  /** Host name or IP address, without brackets. */
  hostname: string
  port: number
  /** `scheme://host:port` (IPv6 in brackets). */
  key: string
}

/** ProxyEndpoint is a parsed proxy URL. */
export interface ProxyEndpoint {
  protocol: 'http:' | 'https:' | 'socks5:' | 'socks5h:'
  /** Host name or IP address, without brackets. */
  hostname: string
  port: number
  /** `Basic …` from the credentials in the URL, or undefined. */
  authorization: string | undefined
  /** The decoded username and password of the URL (SOCKS5 authenticates with them), or undefined. */
  credentials: { username: string; password: string } | undefined
  /** The proxy URL for messages: `scheme://host:port`, credentials shown as `***`. */
  display: string
}

const DEFAULT_PORT = { 'http:': 80, 'https:': 443 } as const

/** targetOf builds the {@link Target} of a parsed `http:`/`https:` URL. */
export function targetOf(url: URL, protocol: 'http:' | 'https:'): Target {
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const port = url.port === '' ? DEFAULT_PORT[protocol] : Number(url.port)
  return { protocol, hostname, port, key: `${protocol}//${url.hostname}:${port}` }
}

/** hostPort is `host:port` with an IPv6 address in brackets, as CONNECT and `Host` write it. */
export function hostPort(hostname: string, port: number): string {
  return isIP(hostname) === 6 ? `[${hostname}]:${port}` : `${hostname}:${port}`
}

/**
 * ConnectMethod is how the connections of one pool are made (Go's
 * `connectMethod`): a proxy or none, the target scheme and the target
 * host:port. It alone gives
 * - the pool key ({@link key}): connections with the same key are
 *   interchangeable;
 * - the request-target form ({@link forward}): origin-form (`/path`), or
 *   absolute-form (`http://host/path`) when `http:` requests are forwarded
 *   by an HTTP proxy;
 * - the dial steps (see `dial.ts`): TCP or the `dial` hook to the first hop,
 *   TLS to an `https:` proxy, CONNECT or SOCKS5 through the proxy, then TLS
 *   to an `https:` target with ALPN.
 *
 * Through an HTTP proxy, `http:` requests to every target share the
 * connections to the proxy (as Go: the key leaves the target out); `https:`
 * targets each get tunnels of their own, and so do `http:` targets with
 * `proxyTunnel` (undici's default).
 */
export class ConnectMethod {
  readonly target: Target
  readonly proxy: ProxyEndpoint | undefined
  /** The pool key: the target key, followed by ` via <proxy>` when proxied. */
  readonly key: string
  /** Whether requests are sent in absolute-form to an HTTP proxy, which forwards them (no tunnel). */
  readonly forward: boolean

  /**
   * `proxyKey` tells apart proxies whose displays match (credentials
   * differ); see {@link proxyKeyOf}. `tunnelHttp` sends `http:` targets
   * through a CONNECT tunnel too, instead of forwarding them (the
   * `proxyTunnel` option).
   */
  constructor(target: Target, proxy?: ProxyEndpoint, proxyKey?: string, tunnelHttp = false) {
    this.target = target
    this.proxy = proxy
    this.forward = !tunnelHttp && proxy !== undefined && target.protocol === 'http:' && (proxy.protocol === 'http:' || proxy.protocol === 'https:')
    if (proxy === undefined) this.key = target.key
    else this.key = `${this.forward ? 'http://*' : target.key} via ${proxyKey ?? proxy.display}`
  }

  /**
   * forwardHeaders completes the head of a request forwarded by the proxy:
   * `Host` of the target (the pooled conn is the proxy's, shared by every
   * target) and the proxy's `Proxy-Authorization`, each unless the request
   * has one (in any case: an undici dispatch's names are as written).
   */
  forwardHeaders(headers: OutgoingHeaders, host: string): OutgoingHeaders {
    const list = headers.list
    if (!hasHeader(list, 'host')) list.push('host', host)
    const authorization = this.proxy?.authorization
    if (authorization !== undefined && !hasHeader(list, 'proxy-authorization')) list.push('proxy-authorization', authorization)
    return headers
  }

  /** The host and port the first socket connects to: the proxy's, or the target's. */
  get firstHop(): { hostname: string; port: number } {
    return this.proxy ?? this.target
  }

  /** Whether a CONNECT tunnel through an HTTP(S) proxy is needed. */
  get tunnel(): boolean {
    return this.proxy !== undefined && !this.forward && (this.proxy.protocol === 'http:' || this.proxy.protocol === 'https:')
  }

  /** The origin the pooled undici Client is told (it writes `Host` from it unless the request sets one). */
  get clientOrigin(): string {
    return this.forward ? `http://${hostPort(this.proxy!.hostname, this.proxy!.port)}` : this.target.key
  }
}

/** hasHeader looks for lower-case header `name` in undici's flat list, whose names may be in the case the caller wrote. */
function hasHeader(list: string[], name: string): boolean {
  for (let i = 0; i < list.length; i += 2) if (lowerCase(list[i]!) === name) return true
  return false
}
