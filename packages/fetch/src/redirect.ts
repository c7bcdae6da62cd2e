import { getContext, redactUrl, withContext } from '@roundtrip/core'
import { ERR_REDIRECT, ERR_UNEXPECTED_REDIRECT, fetchFailed, redirectError } from './errors.js'

/** The most redirects followed before failing, as in Node's fetch. */
export const MAX_REDIRECTS = 20

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308])
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type', 'content-length']
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'host']

/** isRedirect reports whether a response asks to be followed (a redirect status with a `location`). */
export function isRedirect(response: Response): boolean {
  return REDIRECT_STATUS.has(response.status) && response.headers.has('location')
}

/** BodySource gives the request body again for a redirect hop, or says it cannot. */
export type BodySource = () => NonNullable<RequestInit['body']> | null | undefined

/**
 * nextHop builds the request for the next hop of a redirect, as Node's fetch
 * (the fetch standard's HTTP-redirect fetch): 301/302 turn a POST into a GET,
 * 303 turns anything but HEAD into a GET; otherwise method and body are kept,
 * which needs a body that can be produced again (`replay`). The body headers
 * go with the body; `authorization`, `proxy-authorization`, `cookie` and
 * `host` are dropped when the hop changes origin. The per-request context
 * goes along.
 *
 * @throws TypeError `fetch failed` with a coded cause when the redirect cannot be followed.
 */
export function nextHop(request: Request, response: Response, hops: number, replay: BodySource): Request {
  if (request.redirect === 'error') {
    throw fetchFailed(redirectError(ERR_UNEXPECTED_REDIRECT, `unexpected redirect from ${redactUrl(request.url)} (redirect: 'error')`))
  }
  if (hops >= MAX_REDIRECTS) {
    throw fetchFailed(redirectError(ERR_REDIRECT, `redirect count exceeded (${MAX_REDIRECTS}) at ${redactUrl(request.url)}`))
  }
  const location = response.headers.get('location')!
  let target: URL
  try {
    target = new URL(location, request.url)
  } catch (error) {
    throw fetchFailed(redirectError(ERR_REDIRECT, `invalid redirect location ${JSON.stringify(location)} from ${redactUrl(request.url)}`))
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw fetchFailed(redirectError(ERR_REDIRECT, `URL scheme must be a HTTP(S) scheme (redirect to ${redactUrl(target)})`))
  }
  const status = response.status
  let method = request.method
  let body: ReturnType<BodySource> = null
  const headers = new Headers(request.headers)
  if (((status === 301 || status === 302) && method === 'POST') || (status === 303 && method !== 'GET' && method !== 'HEAD')) {
    method = 'GET'
    for (const name of BODY_HEADERS) headers.delete(name)
  } else if (request.body !== null) {
    body = replay()
    if (body === undefined || body === null) {
      throw fetchFailed(
        redirectError(ERR_REDIRECT, `cannot follow a ${status} redirect from ${redactUrl(request.url)}: the request body is a stream and cannot be sent again`),
      )
    }
  }
  if (target.origin !== new URL(request.url).origin) {
    for (const name of CREDENTIAL_HEADERS) headers.delete(name)
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: request.signal, redirect: request.redirect }
  if (body !== null) {
    init.body = body
    if (body instanceof ReadableStream) init.duplex = 'half'
  }
  const next = new Request(target, init)
  const context = getContext(request)
  return Object.keys(context).length === 0 ? next : withContext(next, context)
}
