import { deriveRequest, stripFragment, withResponseInfo, type RoundTripper } from '@roundtrip/core'
import { defaultTransport } from './default-transport.js'
import { fetchFailed } from './errors.js'
import { isRedirect, nextHop, type BodySource } from './redirect.js'

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
  const fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const rt = roundTripper ?? defaultTransport()
    let request: Request
    let replay: BodySource = noReplay
    try {
      if (input instanceof Request) {
        if (init === undefined && input.bodyUsed) throw new TypeError('Cannot construct a Request with a Request object that has already been used.')
        if (input.body !== null && init?.body === undefined && (init?.redirect ?? input.redirect) === 'follow') {
          // Keep a copy of the body in case a 307/308 asks for it again.
          const copy = input.clone()
          replay = () => copy.body
        }
        request = init === undefined ? input : deriveRequest(input, init)
      } else {
        request = new Request(input, init)
      }
    } catch (error) {
      return Promise.reject(error)
    }
    const body = init?.body
    if (body != null && !(body instanceof ReadableStream)) replay = () => body
    if (isDataUrl(input, request)) return nodeFetch(request)
    // The common case stays on one promise: send, and follow only when asked to.
    return send(rt, request).then((response) =>
      request.redirect !== 'manual' && isRedirect(response) ? follow(rt, request, response, replay) : response,
    )
  }
  return fetch as typeof globalThis.fetch
}

function isDataUrl(input: string | URL | Request, request: Request): boolean {
  if (typeof input === 'string') return input.length > 5 && input.charCodeAt(0) === 100 /* d */ && input.startsWith('data:')
  if (input instanceof URL) return input.protocol === 'data:'
  return request.url.startsWith('data:')
}

function noReplay(): undefined {
  return undefined
}

function send(rt: RoundTripper, request: Request): Promise<Response> {
  let sent: Promise<Response>
  try {
    sent = rt.roundTrip(request)
  } catch (error) {
    sent = Promise.reject(error)
  }
  return sent.then(undefined, (error: unknown) => {
    const signal = request.signal
    if (signal.aborted) throw signal.reason
    if (error instanceof TypeError && error.message === 'fetch failed') throw error
    throw fetchFailed(error)
  })
}

async function follow(rt: RoundTripper, first: Request, firstResponse: Response, replay: BodySource): Promise<Response> {
  let request = first
  let response = firstResponse
  let hops = 0
  while (isRedirect(response)) {
    let next: Request
    try {
      next = nextHop(request, response, hops, replay)
    } finally {
      // Every intermediate body is released; a small one has already freed its connection.
      await response.body?.cancel().catch(() => {})
    }
    hops++
    request = next
    response = await send(rt, request)
  }
  // As Node's fetch: a response that ends on another origin than the first request's is 'cors'.
  const crossed = new URL(request.url).origin !== new URL(first.url).origin
  return withResponseInfo(response, { url: stripFragment(request.url), redirected: true, ...(crossed ? { type: 'cors' as const } : {}) })
}
