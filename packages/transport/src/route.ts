import { ConnectMethod, targetOf, type ProxyEndpoint } from './connect-method.js'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import { ERR_CONNECT_FAILED, ERR_INVALID_REQUEST, requestLabel, TransportError } from './errors.js'
import type { ResolvedProtocols } from './h2-options.js'
import { HostPool, type PoolProtocol } from './pool.js'
import type { ProxyChoice } from './proxy.js'

/** How many origins the route cache holds before it starts again. */
const ROUTE_CACHE_SIZE = 4096

/**
 * Routes maps requests to pools: the live pools by key, and a cache from
 * the origin part of a request URL as written (`http://host:port`) to its
 * pool, so that the hot path parses no URL. A proxy chosen per request
 * (a function of the whole URL) skips the cache: its URL is parsed and the
 * function called each time, as Go's `Transport.Proxy`.
 */
export class Routes {
  /** Live pools by pool key. */
  readonly pools = new Map<string, HostPool>()
  readonly #cache = new Map<string, HostPool>()
  readonly #proxy: ProxyChoice | undefined
  readonly #tunnelHttp: boolean
  readonly #protocols: ResolvedProtocols

  /** `tunnelHttp`: `http:` targets go through a CONNECT tunnel too (the `proxyTunnel` option); `protocols`: what new pools speak. */
  constructor(proxy: ProxyChoice | undefined, tunnelHttp: boolean, protocols: ResolvedProtocols) {
    this.#proxy = proxy
    this.#tunnelHttp = tunnelHttp
    this.#protocols = protocols
  }

  /** route finds the pool for a `method` request to URL `href`, whose origin part is `origin`. */
  route(origin: string, href: string, method: string): HostPool {
    const proxy = this.#proxy
    if (proxy !== undefined && !proxy.perOrigin) return this.#poolOf(new URL(href), href, method)
    const cached = this.#cache.get(origin)
    if (cached !== undefined) return cached
    const pool = this.#poolOf(new URL(href), href, method)
    if (this.#cache.size >= ROUTE_CACHE_SIZE) {
      // The pools' lists of their cached origins go with the cache (else a
      // pool that many origins share, as a forwarding proxy's, would keep
      // every origin it ever served).
      this.#cache.clear()
      for (const live of this.pools.values()) live.routes.length = 0
    }
    this.#cache.set(origin, pool)
    pool.routes.push(origin)
    return pool
  }

  #poolOf(url: URL, href: string, method: string): HostPool {
    const protocol = url.protocol
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new TransportError(ERR_INVALID_REQUEST, `unsupported protocol ${protocol} (${requestLabel(method, href)})`)
    }
    const target = targetOf(url, protocol)
    const chosen = this.#proxy?.select(url, method, href)
    const key = chosen === undefined ? target.key : undefined
    if (key !== undefined) {
      const pool = this.pools.get(key)
      if (pool !== undefined) return pool
    }
    return this.poolFor(new ConnectMethod(target, chosen?.endpoint, chosen?.key, this.#tunnelHttp))
  }

  /** poolFor returns the live pool of `method`, making it when there is none. */
  poolFor(method: ConnectMethod): HostPool {
    let pool = this.pools.get(method.key)
    if (pool === undefined) {
      pool = new HostPool(method, poolProtocol(method, this.#protocols))
      this.pools.set(method.key, pool)
    }
    return pool
  }

  /**
   * forget drops a pool with no conns and no waiters, and the cached routes
   * to it, so that a transport that met many origins does not keep them all
   * (a later request to the origin makes a new pool). True when it did.
   */
  forget(pool: HostPool): boolean {
    if (!pool.empty || pool.removed) return false
    pool.removed = true
    pool.dialQueue.length = 0
    this.pools.delete(pool.key)
    for (const origin of pool.routes) if (this.#cache.get(origin) === pool) this.#cache.delete(origin)
    return true
  }
}

/**
 * poolProtocol is what a new pool's conns will speak, from the `protocols`
 * option (as Go 1.24): `https:` asks ALPN when both HTTP/1.1 and HTTP/2 are
 * on, and also with HTTP/2 alone (the handshake must pick `h2`); `http:`
 * speaks HTTP/2 with prior knowledge only when `h2c` is on and `http1` off
 * (there is no upgrade), and HTTP/1.1 to a forwarding proxy. A scheme that
 * no listed protocol serves throws `RT_INVALID_REQUEST`.
 */
function poolProtocol(method: ConnectMethod, protocols: ResolvedProtocols): PoolProtocol {
  if (method.target.protocol === 'https:') {
    if (protocols.http2) return 'unknown'
    if (protocols.http1) return 'http1'
  } else {
    if (protocols.http1 || method.forward) return 'http1'
    if (protocols.h2c) return 'h2'
  }
  throw new TransportError(ERR_INVALID_REQUEST, `no protocol of the Transport's protocols option serves ${method.target.protocol} URLs (${method.key})`)
}

/**
 * negotiatedH2 tells from a pool's dialed socket whether its conn speaks
 * HTTP/2: ALPN `h2` over TLS, prior knowledge (`h2c`) in the clear. A
 * server that does not pick `h2` when `http1` is not allowed throws
 * `RT_CONNECT_FAILED`.
 */
export function negotiatedH2(pool: HostPool, socket: Duplex, protocols: ResolvedProtocols): boolean {
  if (pool.method.target.protocol === 'http:') return pool.protocol === 'h2'
  const alpn = (socket as Partial<TLSSocket>).alpnProtocol
  if (alpn === 'h2') return true
  if (!protocols.http1) {
    const chose = alpn === false || alpn === undefined ? 'nothing' : alpn
    throw new TransportError(ERR_CONNECT_FAILED, `${pool.key} did not negotiate h2 through ALPN (it chose ${chose}) and the protocols option leaves out http1`)
  }
  return false
}
