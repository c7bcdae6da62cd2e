import { stripFragment } from '@roundtrip/core'

/** The methods the HTTP semantic conventions know (RFC 9110 and PATCH); any other is reported as `_OTHER`. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'])

/** The query parameters the semantic conventions redact in `url.full` by default. */
export const DEFAULT_REDACTED_QUERY: readonly string[] = ['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature']

/** normalizeMethod gives `http.request.method`: the method, or `_OTHER` for one the conventions do not know (method names are case-sensitive). */
export function normalizeMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER'
}

/**
 * redactUrlFull gives `url.full` as the semantic conventions ask: no
 * fragment, credentials as `REDACTED:REDACTED`, and the values of the
 * query parameters in `secret` as `REDACTED`; the rest exactly as sent.
 */
export function redactUrlFull(href: string, secret: ReadonlySet<string>): string {
  let url = stripFragment(href)
  const at = url.indexOf('@')
  const scheme = url.indexOf('//')
  if (at > 0 && scheme > 0 && at < url.indexOf('/', scheme + 2)) url = `${url.slice(0, scheme + 2)}REDACTED:REDACTED${url.slice(at)}`
  const q = url.indexOf('?')
  if (q < 0) return url
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      const name = eq < 0 ? pair : pair.slice(0, eq)
      return eq >= 0 && secret.has(name) ? `${name}=REDACTED` : pair
    })
    .join('&')
  return `${url.slice(0, q + 1)}${query}`
}

/** ServerAttributes are `server.address` and `server.port` of a URL (the port the scheme implies when none is written). */
export interface ServerAttributes {
  'server.address': string
  'server.port': number
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 }

/** serverOf reads `server.address` (without IPv6 brackets) and `server.port` from a URL. */
export function serverOf(url: URL): ServerAttributes {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const port = url.port === '' ? (DEFAULT_PORTS[url.protocol] ?? 0) : Number(url.port)
  return { 'server.address': host, 'server.port': port }
}

/**
 * errorType gives `error.type` of a failure: its string `code` (`RT_CONNECT_REFUSED`,
 * `ECONNRESET`), else its `name` when it is not the generic `Error`
 * (`AbortError`, `TimeoutError`), else `_OTHER`.
 */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && code !== '') return code
    const name = (error as { name?: unknown }).name
    if (typeof name === 'string' && name !== '' && name !== 'Error') return name
  }
  return '_OTHER'
}
