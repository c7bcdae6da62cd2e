import { ConnectMethod, targetOf, type ProxyEndpoint } from './connect-method.js'
import { ERR_INVALID_REQUEST, TransportError } from './errors.js'
import { HostPool } from './pool.js'
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

  /** `tunnelHttp`: `http:` targets go through a CONNECT tunnel too (the `proxyTunnel` option). */
  constructor(proxy: ProxyChoice | undefined, tunnelHttp: boolean) {
    this.#proxy = proxy
    this.#tunnelHttp = tunnelHttp
  }

  /** route finds the pool for a request URL `href` whose origin part is `origin`. */
  route(origin: string, href: string, what: string): HostPool {
    const proxy = this.#proxy
    if (proxy !== undefined && !proxy.perOrigin) return this.#poolOf(new URL(href), what)
    const cached = this.#cache.get(origin)
    if (cached !== undefined) return cached
    const pool = this.#poolOf(new URL(href), what)
    if (this.#cache.size >= ROUTE_CACHE_SIZE) this.#cache.clear()
    this.#cache.set(origin, pool)
    pool.routes.push(origin)
    return pool
  }

  #poolOf(url: URL, what: string): HostPool {
    const protocol = url.protocol
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new TransportError(ERR_INVALID_REQUEST, `unsupported protocol ${protocol} (${what})`)
    }
    const target = targetOf(url, protocol)
    const chosen = this.#proxy?.select(url, what)
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
      pool = new HostPool(method)
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
