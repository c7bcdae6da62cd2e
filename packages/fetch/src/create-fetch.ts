import { followSignal } from './follow-signal.js'
import {
  discardResponse,
  deriveRequest,
  getReplayableBody,
  mapBodyError,
  redactUrl,
  withContext,
  stripFragment,
  withReplayableBody,
  withResponseInfo,
  withUnabortableSignal,
  reactWith,
  roundTripThen,
  type RoundTripContinuation,
  type RoundTripper,
} from '@roundtrip/core'
import { isBadPort } from './bad-port.js'
import { fetchBlobUrl } from './blob-url.js'
import { defaultTransport } from './default-transport.js'
import { ERR_BAD_PORT, ERR_PROXY_AUTH, bodyError, fetchFailed, redirectError } from './errors.js'
import { cacheHeaders, mayNeedCacheHeaders } from './cache-headers.js'
import { checkIntegrity } from './integrity.js'
import { hasReferrer, parseReferrerPolicy, setReferer, type ReferrerState } from './referrer.js'
import { InitChecks } from './check-init.js'
import { encodeFormData, isStream, readRequestBody, replayableBody } from './extract-body.js'
import { isRedirect, nextHop } from './redirect.js'
import { FetchTiming } from './resource-timing.js'
import { readableTwice, writtenNames } from './header-names.js'
import { channels, type RedirectMessage } from './channels.js'
import { startDebug } from './debug.js'

// Captured at load time: data: URLs are handed to Node's own fetch, even after
// `globalThis.fetch` has been replaced by ours.
const nodeFetch = globalThis.fetch

/**
 * createFetch returns a `fetch` with exactly the type and behaviour of
 * Node's global `fetch`, that sends every request through `roundTripper`
 * (a shared default `Transport` when omitted). Redirects are followed here,
 * so every layer below sees each hop; `response.url` is the final URL and
 * `response.redirected` is true after a redirect.
 *
 * Errors are Node's: a network failure rejects with `TypeError('fetch
 * failed', { cause })` where `cause` is the coded error from below; an abort
 * rejects with `signal.reason`; an invalid URL or header rejects with a
 * `TypeError` before any connection is made.
 *
 * @example
 * ```ts
 * const fetch = createFetch(compose(new Transport({ maxConnsPerHost: 8 }), leakTracker()))
 * const response = await fetch('http://127.0.0.1:8080/api', { method: 'POST', body: JSON.stringify(data) })
 * ```
 */
export function createFetch(roundTripper?: RoundTripper): typeof globalThis.fetch {
  if (roundTripper !== undefined && typeof roundTripper?.roundTrip !== 'function') {
    throw new TypeError('createFetch: expected a RoundTripper (an object with a roundTrip method)')
  }
  startDebug()
  const initChecks = new InitChecks()
  // `init = undefined` keeps fetch.length at 1, as Node's.
  const fetch = function fetch(input: string | URL | Request, init: RequestInit | undefined = undefined): Promise<Response> {
    const rt = roundTripper ?? defaultTransport()
    // A Request input brings members (signal, referrer, integrity, headers)
    // that an init-less string URL cannot: the common case skips them.
    const isRequest = input instanceof Request
    let request: Request
    let referrer: ReferrerState | undefined
    try {
      let body = init?.body
      if (body instanceof FormData) {
        // Encoded once, with its boundary, so that it has a length and replays byte for byte.
        body = encodeFormData(body)
        init = { ...init, body }
      }
      // new Request() reads the headers, and writtenNames reads them again below.
      if (init?.headers !== undefined) {
        const headers = readableTwice(init.headers)
        if (headers !== init.headers) init = { ...init, headers }
      }
      if (isRequest) {
        if (init === undefined && input.bodyUsed) throw new TypeError('Cannot construct a Request with a Request object that has already been used.')
        request = init === undefined ? input : deriveRequest(input, init)
      } else if (init?.signal == null) {
        // Nothing the caller holds can abort it: the layers below and the
        // Transport see core's neverAborted as the call signal, and listen to
        // nothing (the Request's own signal, never aborted, stays as it is).
        request = withUnabortableSignal(new Request(input, init))
      } else {
        request = new Request(input, init)
      }
      // A stream of unknown length goes out as it comes, chunked, as undici's fetch sends it.
      let streamedBody = false
      if (body != null) {
        const declared = replayableBody(body)
        if (declared !== undefined) withReplayableBody(request, declared)
        else streamedBody = isStream(body)
      }
      if (init !== undefined) initChecks.check(init)
      // A Headers object keeps names in lower case: the case the caller wrote goes down in the context.
      const headerNames = init?.headers === undefined ? undefined : writtenNames(init.headers)
      if (headerNames !== undefined || streamedBody) withContext(request, headerNames === undefined ? { streamedBody } : { headerNames, streamedBody })
      // Only a request given a referrer URL pays for the Referrer Policy. Read
      // before any copy below: a Request copied with a new init loses both.
      const wantsReferrer = isRequest || init?.referrer !== undefined
      const referrerUrl = wantsReferrer ? request.referrer : ''
      const policy = wantsReferrer ? request.referrerPolicy : ''
      // Host is a forbidden request header: the URL's host is sent, as Node's fetch does.
      if ((isRequest || init?.headers !== undefined) && request.headers.has('host')) {
        request = withHeaders(request, input, (headers) => headers.delete('host'))
      }
      // Only a request with headers or a cache mode can need what the fetch standard adds for them.
      const needsCache = isRequest || (init as { cache?: unknown } | undefined)?.cache !== undefined || (init?.headers !== undefined && mayNeedCacheHeaders(init.headers))
      const cacheEdit = needsCache ? cacheHeaders(request) : undefined
      if (cacheEdit !== undefined) request = withHeaders(request, input, cacheEdit)
      if (wantsReferrer && hasReferrer(referrerUrl)) {
        const state: ReferrerState = { referrer: referrerUrl, policy }
        request = withHeaders(request, input, (headers) => setReferer(headers, state, request.url))
        referrer = state
      }
    } catch (error) {
      return Promise.reject(error)
    }
    // Without a signal in init or a Request, the request's own signal cannot have aborted yet.
    const hasSignal = isRequest || init?.signal != null
    if (hasSignal && request.signal.aborted) {
      // As Node's fetch: the request body is cancelled with the reason (a user's stream learns of it).
      request.body?.cancel(request.signal.reason).catch(noop)
      return Promise.reject(request.signal.reason)
    }
    // Request.url serializes the URL on every read: once per hop.
    const url = request.url
    const local = localScheme(input, url)
    if (local !== undefined) return local === 'data:' ? nodeFetch(request) : fetchBlobUrl(request)
    // Timed from here, as undici's fetch times from after its argument checks.
    const timing = new FetchTiming(url)
    // Only a request whose signal can abort pays for following it into the body.
    const signal = hasSignal ? request.signal : undefined
    let sent: Promise<Response>
    if (isRequest && init?.body == null && request.body !== null && getReplayableBody(request) === undefined) {
      // A Request's body hides its source: read what it holds to learn its length.
      sent = readRequestBody(request).then((read) => start(rt, read, url, referrer, timing, signal))
    } else {
      sent = start(rt, request, url, referrer, timing, signal)
    }
    // Only a request that carries integrity metadata pays for reading it.
    if (!isRequest && init?.integrity === undefined) return sent
    const integrity = request.integrity
    return integrity === '' ? sent : sent.then((response) => checkIntegrity(response, integrity, request))
  }
  return fetch as typeof globalThis.fetch
}

/** withHeaders edits the headers of a request createFetch made, or of a copy of the caller's own Request (left unchanged). */
function withHeaders(request: Request, input: unknown, edit: (headers: Headers) => void): Request {
  if (request !== input) {
    edit(request.headers)
    return request
  }
  const headers = new Headers(request.headers)
  edit(headers)
  return deriveRequest(request, { headers })
}

/**
 * start sends the first hop and stays on one promise: the round trip's own,
 * with one reaction (a {@link FirstHop}, core's roundTripThen: none of its
 * own when the RoundTripper declares kRoundTripThen) that handles the
 * response, follows it only when it is a redirect to follow, and follows
 * `signal` (the request's, when it can abort) into the final body.
 */
function start(rt: RoundTripper, request: Request, url: string, referrer: ReferrerState | undefined, timing: FetchTiming, signal: AbortSignal | undefined): Promise<Response> {
  const hop = new FirstHop(rt, request, referrer, timing, signal)
  timing.requestStart()
  if (!isBadPort(url)) return roundTripThen(rt, request, hop)
  const error = redirectError(ERR_BAD_PORT, `bad port: ${redactUrl(url)} is on the fetch standard's list of blocked ports`)
  return reactWith(Promise.reject(error), hop)
}

/** FirstHop is one fetch's reaction to its first hop (core's RoundTripContinuation): one object, no closures. */
class FirstHop implements RoundTripContinuation {
  readonly #rt: RoundTripper
  readonly #request: Request
  readonly #referrer: ReferrerState | undefined
  readonly #timing: FetchTiming
  readonly #signal: AbortSignal | undefined

  constructor(rt: RoundTripper, request: Request, referrer: ReferrerState | undefined, timing: FetchTiming, signal: AbortSignal | undefined) {
    this.#rt = rt
    this.#request = request
    this.#referrer = referrer
    this.#timing = timing
    this.#signal = signal
  }

  received(response: Response): Response | Promise<Response> {
    const request = this.#request
    const signal = this.#signal
    received(response, request, this.#timing)
    if (isRedirect(response) && request.redirect !== 'manual') {
      const final = follow(this.#rt, request, response, this.#referrer, this.#timing)
      return signal === undefined ? final : final.then((last) => followSignal(last, signal))
    }
    this.#timing.report(response)
    return signal === undefined ? response : followSignal(response, signal)
  }

  failed(error: unknown): never {
    return failed(error, this.#request, this.#timing)
  }
}

/** localScheme says whether the URL is one answered without the network (`data:`, `blob:`), cheaply for the common case. */
function localScheme(input: string | URL | Request, requestUrl: string): 'data:' | 'blob:' | undefined {
  if (typeof input === 'string') {
    const c = input.charCodeAt(0)
    if (c > 32 && c !== 100 /* d */ && c !== 98 /* b */ && c !== 68 /* D */ && c !== 66 /* B */) return undefined
  }
  const url = typeof input === 'object' && input instanceof URL ? input.href : requestUrl
  return url.startsWith('data:') ? 'data:' : url.startsWith('blob:') ? 'blob:' : undefined
}

function noop(): void {}

/** send hands one hop to the RoundTripper; a bad port rejects without dialing. */
function send(rt: RoundTripper, request: Request, url: string, timing: FetchTiming): Promise<Response> {
  timing.requestStart()
  try {
    if (isBadPort(url)) throw redirectError(ERR_BAD_PORT, `bad port: ${redactUrl(url)} is on the fetch standard's list of blocked ports`)
    return rt.roundTrip(request)
  } catch (error) {
    return Promise.reject(error)
  }
}

/** received handles a hop's response as it arrives: a 407 is a network error; body failures read as Node's. */
function received(response: Response, request: Request, timing: FetchTiming): void {
  timing.responseStart()
  if (response.status === 407) proxyAuthRequired(response, request)
  // A body that fails mid-way rejects its reads with TypeError('terminated'), as Node's fetch.
  mapBodyError(response, bodyError)
}

/** failed turns a hop's rejection into what Node's fetch rejects with. */
function failed(error: unknown, request: Request, timing: FetchTiming): never {
  const signal = request.signal
  if (signal.aborted) throw signal.reason
  if (error instanceof TypeError && error.message === 'fetch failed') throw error
  // A deadline or an abort from a layer below (a timeout() middleware):
  // Node's fetch under AbortSignal.timeout(ms) rejects with the
  // DOMException itself, not with 'fetch failed'.
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) throw error
  timing.fail(false)
  throw fetchFailed(error)
}

/** As Node's and undici's fetch: a 407 is a network error (fetch has no proxy-authentication step). */
function proxyAuthRequired(response: Response, request: Request): never {
  discardResponse(response)
  throw fetchFailed(redirectError(ERR_PROXY_AUTH, `407 Proxy Authentication Required (${request.method} ${redactUrl(request.url)})`))
}

async function follow(rt: RoundTripper, first: Request, firstResponse: Response, referrer: ReferrerState | undefined, timing: FetchTiming): Promise<Response> {
  let request = first
  let response = firstResponse
  let hops = 0
  while (isRedirect(response)) {
    let next: Request
    try {
      next = nextHop(request, response, hops)
      if (referrer !== undefined) {
        // A Referrer-Policy on a redirect sets the policy for the hops after it.
        referrer.policy = parseReferrerPolicy(response.headers.get('referrer-policy')) || referrer.policy
        setReferer(next.headers, referrer, next.url)
      }
    } catch (error) {
      timing.fail(true)
      throw error
    } finally {
      // Every intermediate body is released at once, never awaited (a tee'd clone's cancel can hang); a small one has already freed its connection.
      discardResponse(response)
    }
    hops++
    if (channels.redirect.hasSubscribers) {
      channels.redirect.publish({ method: next.method, status: response.status, from: redactUrl(request.url), to: redactUrl(next.url) } satisfies RedirectMessage)
    }
    request = next
    timing.redirect()
    try {
      response = await send(rt, request, request.url, timing)
    } catch (error) {
      failed(error, request, timing)
    }
    received(response, request, timing)
  }
  // As Node's fetch: a response that ends on another origin than the first request's is 'cors'.
  const crossed = new URL(request.url).origin !== new URL(first.url).origin
  return timing.report(withResponseInfo(response, { url: stripFragment(request.url), redirected: true, ...(crossed ? { type: 'cors' as const } : {}) }))
}
