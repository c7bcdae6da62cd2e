import { callSignal, carryRequest, getReplayableBody, neverAborts, redactUrl, withUnabortableSignal } from '@roundtrip/core'
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

/**
 * nextHop builds the request for the next hop of a redirect, as Node's fetch
 * (the fetch standard's HTTP-redirect fetch): 301/302 turn a POST into a GET,
 * 303 turns anything but HEAD into a GET; otherwise method and body are kept.
 * Every redirect but 303 needs a body declared replayable (core's
 * `withReplayableBody`; a stream cannot be sent again), also one that turns
 * POST into GET, as the standard and Node's fetch say. The body headers go with the body;
 * `authorization`, `proxy-authorization`, `cookie` and `host` are dropped
 * when the hop changes origin. The per-request context and the body's
 * declaration go along.
 *
 * @throws TypeError `fetch failed` with a coded cause when the redirect cannot be followed.
 */
export function nextHop(request: Request, response: Response, hops: number): Request {
  if (request.redirect === 'error') {
    // The message is Node's and undici's, word for word; the code says it too.
    throw fetchFailed(redirectError(ERR_UNEXPECTED_REDIRECT, 'unexpected redirect'))
  }
  if (hops >= MAX_REDIRECTS) {
    throw fetchFailed(redirectError(ERR_REDIRECT, `redirect count exceeded (${MAX_REDIRECTS}) at ${redactUrl(request.url)}`))
  }
  const location = decodeLocation(response.headers.get('location')!)
  let target: URL
  try {
    target = new URL(location, request.url)
  } catch (error) {
    // The URL parser's TypeError (ERR_INVALID_URL) under it: fetchFailed makes it the cause, as Node's fetch has it.
    throw fetchFailed(redirectError(ERR_REDIRECT, `invalid redirect location ${JSON.stringify(location)} from ${redactUrl(request.url)}`, error))
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw fetchFailed(redirectError(ERR_REDIRECT, `URL scheme must be a HTTP(S) scheme (redirect to ${redactUrl(target)})`))
  }
  if (target.username !== '' || target.password !== '') {
    throw fetchFailed(
      redirectError(ERR_REDIRECT, `redirect location includes credentials: ${redactUrl(target)} (from ${redactUrl(request.url)})`),
    )
  }
  const status = response.status
  const method = request.method
  const headers = new Headers(request.headers)
  // A hop follows the caller's signal, unless nothing can abort the call: then it is made without one, and declared so.
  const unabortable = neverAborts(callSignal(request))
  const init: RequestInit = unabortable ? { method, headers, redirect: request.redirect } : { method, headers, signal: request.signal, redirect: request.redirect }
  // As the fetch standard, before any method change: a body that cannot be
  // sent again fails every redirect but 303, also a 301/302 that turns a
  // POST into a GET (Node's and undici's fetch do so).
  const body = request.body === null ? undefined : getReplayableBody(request)
  if (request.body !== null && body === undefined && status !== 303) {
    throw fetchFailed(
      redirectError(ERR_REDIRECT, `cannot follow a ${status} redirect from ${redactUrl(request.url)}: the request body is a stream and cannot be sent again`),
    )
  }
  if (((status === 301 || status === 302) && method === 'POST') || (status === 303 && method !== 'GET' && method !== 'HEAD')) {
    init.method = 'GET'
    for (const name of BODY_HEADERS) headers.delete(name)
  } else if (body !== undefined) {
    init.body = body.getBody()
  }
  if (target.origin !== new URL(request.url).origin) {
    for (const name of CREDENTIAL_HEADERS) headers.delete(name)
  }
  const next = carryRequest(request, new Request(target, init), { body: init.body !== undefined })
  return unabortable ? withUnabortableSignal(next) : next
}

/**
 * decodeLocation reads a `Location` sent as raw UTF-8 (its bytes arrive one
 * per character) as UTF-8, as browsers and undici do, so that the URL parser
 * percent-encodes each character once. A value that is not valid UTF-8 is
 * left as it is.
 */
function decodeLocation(location: string): string {
  // A header value holds one byte per character (Headers refuse more): ASCII only is left as it is.
  if (!/[\x80-\xff]/.test(location)) return location
  const bytes = Buffer.from(location, 'latin1')
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return location
  }
}
