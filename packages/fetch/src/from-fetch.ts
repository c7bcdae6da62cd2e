import { getContext, getReplayableBody, type RoundTripper } from '@roundtrip/core'
import { withWrittenNames } from './header-names.js'

// Redirects and integrity belong to the fetch layer above (integrity is checked on the final response).
const MANUAL: RequestInit = { redirect: 'manual', integrity: '' }

/** FetchFunction is any function with the signature of `fetch`. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/**
 * fromFetch makes any `fetch` a RoundTripper: Node's global fetch (the
 * default), npm undici's, a test double. It asks that fetch for `redirect:
 * 'manual'`, so that redirects stay in the fetch layer above and every layer
 * below sees each hop.
 *
 * A fetch other than Node's global one gets the request as a URL and a full
 * init (method, headers, body with `duplex: 'half'`, signal): npm undici's
 * fetch, for one, rejects Node's global `Request` objects, being another copy
 * of the class.
 *
 * @example
 * ```ts
 * const client = createFetch(compose(fromFetch(globalThis.fetch), leakTracker()))
 * ```
 */
export function fromFetch(fetchFn: FetchFunction = globalThis.fetch): RoundTripper {
  if (typeof fetchFn !== 'function') throw new TypeError('fromFetch: expected a fetch function')
  const native = fetchFn === globalThis.fetch
  return {
    roundTrip(request: Request): Promise<Response> {
      // A declared body is handed over as its source, so that the fetch below knows its length.
      const declared = request.body === null ? undefined : getReplayableBody(request)
      if (native) return fetchFn(request, declared === undefined ? MANUAL : { ...MANUAL, body: declared.getBody() })
      const init: RequestInit & { duplex?: 'half' } = {
        method: request.method,
        // The case the caller wrote header names in (a Headers object keeps none).
        headers: withWrittenNames(request.headers, getContext(request).headerNames),
        signal: request.signal,
        redirect: 'manual',
      }
      if (declared !== undefined) {
        init.body = declared.getBody()
      } else if (request.body !== null) {
        init.body = request.body
        init.duplex = 'half'
      }
      return fetchFn(request.url, init)
    },
  }
}
