import { ERR_INVALID_OPTION } from './errors.js'
import { NoProxy } from './no-proxy.js'
import { parseProxy, PER_ORIGIN, type ProxyFunction } from './proxy.js'

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443 }

/** first returns the first non-empty value among `names` in `env`. */
function first(env: Record<string, string | undefined>, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim()
    if (value !== undefined && value !== '') return value
  }
  return undefined
}

/** proxyUrl reads one proxy variable; a value without a scheme (`proxy:3128`) is an `http://` proxy, as curl and Go read it. */
function proxyUrl(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`
  parseProxy(url, ERR_INVALID_OPTION, `invalid proxy in ${name}`)
  return url
}

/**
 * proxyFromEnvironment returns a {@link ProxyFunction} for the `proxy`
 * option of `new Transport()` that reads the conventional variables once,
 * now, from `env` (default `process.env`):
 * - `http_proxy` / `HTTP_PROXY`: the proxy of `http:` requests;
 * - `https_proxy` / `HTTPS_PROXY`: the proxy of `https:` requests (it does
 *   not fall back to `HTTP_PROXY`);
 * - `no_proxy` / `NO_PROXY`: hosts that are reached directly: `*`, host
 *   names (`example.com` and `.example.com` both cover subdomains),
 *   `host:port`, IPv4 and IPv6 addresses and CIDR ranges (`10.0.0.0/8`,
 *   `fd00::/8`), comma-separated.
 *
 * The lower-case name wins when both are set and not empty, as with Node's
 * `NODE_USE_ENV_PROXY`. A proxy value without a scheme is `http://`. The
 * answer depends on the origin only, so the Transport caches it per origin.
 *
 * @throws TransportError `RT_INVALID_OPTION` when a proxy variable holds no valid proxy URL (named with its credentials hidden).
 * @example
 * ```ts
 * const transport = new Transport({ proxy: proxyFromEnvironment() })
 * ```
 */
export function proxyFromEnvironment(env: Record<string, string | undefined> = process.env): ProxyFunction {
  const http = proxyUrl(first(env, 'http_proxy', 'HTTP_PROXY'), 'http_proxy/HTTP_PROXY')
  const https = proxyUrl(first(env, 'https_proxy', 'HTTPS_PROXY'), 'https_proxy/HTTPS_PROXY')
  const noProxy = new NoProxy(first(env, 'no_proxy', 'NO_PROXY'))
  const choose = (url: URL): string | undefined => {
    const proxy = url.protocol === 'http:' ? http : url.protocol === 'https:' ? https : undefined
    if (proxy === undefined || noProxy.empty) return proxy
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    const port = url.port === '' ? (DEFAULT_PORT[url.protocol] ?? 0) : Number(url.port)
    return noProxy.matches(hostname, port) ? undefined : proxy
  }
  return Object.assign(choose, { [PER_ORIGIN]: true })
}
