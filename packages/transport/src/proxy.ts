import { createHash } from 'node:crypto'
import { hostPort, type ProxyEndpoint } from './connect-method.js'
import { ERR_INVALID_OPTION, ERR_INVALID_REQUEST, requestLabel, TransportError } from './errors.js'

/**
 * ProxyFunction chooses the proxy of each request, as Go's
 * `Transport.Proxy`: it receives the request URL and returns the proxy URL
 * (`http://`, `https://`, `socks5://` or `socks5h://`, credentials allowed),
 * or `null`/`undefined` to connect directly. It is called for every request
 * (see {@link proxyFromEnvironment} for one that is cached per origin).
 */
export type ProxyFunction = (url: URL) => string | URL | null | undefined

/** ProxyOption is the `proxy` option: one proxy URL for every request, or a {@link ProxyFunction}. */
export type ProxyOption = string | URL | ProxyFunction

/**
 * Marks a {@link ProxyFunction} whose answer depends on the scheme, host and
 * port of the URL only, so that the Transport may cache it per origin.
 */
export const PER_ORIGIN: unique symbol = Symbol.for('roundtrip.proxy.perOrigin')

const DEFAULT_PROXY_PORT = { 'http:': 80, 'https:': 443, 'socks5:': 1080, 'socks5h:': 1080 } as const

/** A parsed proxy and its pool-key part. */
interface ParsedProxy {
  endpoint: ProxyEndpoint
  key: string
}

/**
 * parseProxy reads a proxy URL. An unknown scheme or a URL that does not
 * parse throws a TransportError with `code` (the value is named with its
 * credentials redacted).
 */
export function parseProxy(value: string | URL, code: string, where: string): ParsedProxy {
  let url: URL
  try {
    url = typeof value === 'string' ? new URL(value) : value
  } catch (error) {
    throw new TransportError(code, `${where}: invalid proxy URL ${JSON.stringify(redact(String(value)))}`, { cause: error })
  }
  const protocol = url.protocol
  if (protocol !== 'http:' && protocol !== 'https:' && protocol !== 'socks5:' && protocol !== 'socks5h:') {
    throw new TransportError(
      code,
      `${where}: unsupported proxy scheme ${protocol} in ${redact(url.href)}; expected http:, https:, socks5: or socks5h:`,
    )
  }
  if (url.hostname === '') throw new TransportError(code, `${where}: proxy URL ${redact(url.href)} has no host`)
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const port = url.port === '' ? DEFAULT_PROXY_PORT[protocol] : Number(url.port)
  const hasCredentials = url.username !== '' || url.password !== ''
  const credentials = hasCredentials ? { username: decode(url.username), password: decode(url.password) } : undefined
  const authorization =
    credentials === undefined ? undefined : `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
  const display = `${protocol}//${hasCredentials ? '***@' : ''}${hostPort(hostname, port)}`
  // Two proxies that differ only in credentials must not share connections
  // (a tunnel is authorized once); the key tells them apart without holding them.
  const key = authorization === undefined ? display : `${display}#${createHash('sha256').update(authorization).digest('hex').slice(0, 12)}`
  return { endpoint: { protocol, hostname, port, authorization, credentials, display }, key }
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** redact hides the credentials of a URL string for a message. */
function redact(s: string): string {
  return s.replace(/\/\/[^/@]*@/, '//***@')
}

/**
 * ProxyChoice picks the proxy of one request URL (parsed): the endpoint and
 * its pool-key part, or undefined for a direct connection. It throws a
 * coded TransportError for a proxy it cannot use.
 */
export interface ProxyChoice {
  /** Called per request with the parsed URL; `method` and `href` (the URL as given) name the request in errors. */
  select(url: URL, method: string, href: string): ParsedProxy | undefined
  /**
   * Whether the choice depends on the origin only (scheme, host, port), so
   * that it can be cached by origin, as direct routes are.
   */
  readonly perOrigin: boolean
}

/** How many parsed proxy URLs a function-chosen proxy keeps. */
const PARSED_CACHE_SIZE = 256

/**
 * proxyChoice turns the `proxy` option into the router's {@link ProxyChoice}:
 * undefined for none, a fixed endpoint, or a function called per request
 * (per origin when marked {@link PER_ORIGIN}). A fixed proxy is checked
 * here and throws `RT_INVALID_OPTION`; a function's answer is checked per
 * request and rejects that request with `RT_INVALID_REQUEST`.
 */
export function proxyChoice(option: ProxyOption | null | undefined): ProxyChoice | undefined {
  if (option === undefined || option === null) return undefined
  if (typeof option === 'string' || option instanceof URL) {
    const fixed = parseProxy(option, ERR_INVALID_OPTION, 'invalid Transport option proxy')
    return { perOrigin: true, select: () => fixed }
  }
  if (typeof option !== 'function') {
    throw new TransportError(ERR_INVALID_OPTION, 'invalid Transport option proxy: expected a URL string, a URL or a function (url) => proxy URL')
  }
  const parsed = new Map<string, ParsedProxy>()
  return {
    perOrigin: (option as { [PER_ORIGIN]?: boolean })[PER_ORIGIN] === true,
    select(url, method, href) {
      const value = option(url)
      if (value === null || value === undefined || value === '') return undefined
      if (typeof value !== 'string' && !(value instanceof URL)) {
        throw new TransportError(ERR_INVALID_REQUEST, `the proxy function returned ${typeof value}, expected a URL string, a URL, null or undefined (${requestLabel(method, href)})`)
      }
      const proxyHref = typeof value === 'string' ? value : value.href
      let proxy = parsed.get(proxyHref)
      if (proxy === undefined) {
        proxy = parseProxy(value, ERR_INVALID_REQUEST, `the proxy function's answer for ${requestLabel(method, href)}`)
        if (parsed.size >= PARSED_CACHE_SIZE) parsed.clear()
        parsed.set(proxyHref, proxy)
      }
      return proxy
    },
  }
}
