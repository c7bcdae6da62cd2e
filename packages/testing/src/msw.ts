import { discardResponse, redactUrl, roundTripper, withResponseInfo, type RoundTripper } from '@roundtrip/core'
import { getResponse, type RequestHandler } from 'msw'
import { abortable } from './abort.js'
import { ERR_MOCK_NETWORK_ERROR, ERR_MOCK_NO_MATCH, TestingError } from './errors.js'

/** FromMswOptions configure {@link fromMsw}. */
export interface FromMswOptions {
  /**
   * Where requests go that no handler answers, or whose handler calls msw's
   * `passthrough()` (a real Transport, say). Undefined: they reject with
   * `RT_MOCK_NO_MATCH`.
   */
  passthrough?: RoundTripper
}

/**
 * fromMsw makes a RoundTripper that answers from msw request handlers, the
 * ones a team already wrote for `setupServer`. msw intercepts Node's own
 * `fetch` and `http` modules; a client built with `createFetch` over a
 * roundtrip Transport goes around those, so `setupServer` silently stops
 * intercepting it. Put `fromMsw(handlers)` at the bottom of the stack instead:
 * every handler answers as it does under `setupServer`.
 *
 * Requests are resolved with msw's public `getResponse(handlers, request)`
 * (msw >= 2.4, an optional peer dependency of this entry point only), on a
 * clone of the request, so the caller's request is not touched. Responses get
 * the request's URL (`redirected` false, as a transport gives them).
 * `HttpResponse.error()` rejects with `RT_MOCK_NETWORK_ERROR` (through
 * `createFetch`, a `TypeError('fetch failed')` as Node's fetch gives). An
 * aborted `request.signal` rejects with its reason.
 *
 * @example
 * ```ts
 * import { http, HttpResponse } from 'msw'
 * import { fromMsw } from '@roundtrip/testing/msw'
 *
 * const handlers = [http.get('https://api.example.com/user', () => HttpResponse.json({ name: 'Ada' }))]
 * const fetch = createFetch(compose(fromMsw(handlers), leakTracker()))
 * ```
 */
export function fromMsw(handlers: readonly RequestHandler[], options: FromMswOptions = {}): RoundTripper {
  if (!Array.isArray(handlers)) throw new TypeError(`fromMsw: expected an array of msw request handlers, got ${typeof handlers}`)
  const passthrough = options.passthrough
  const unmatched = (request: Request, why: string): Promise<Response> => {
    if (passthrough !== undefined) return passthrough.roundTrip(request)
    const known = handlers.map((h) => `  - ${h.info.header}`).join('\n')
    return Promise.reject(
      new TestingError(
        ERR_MOCK_NO_MATCH,
        `${why} for ${request.method} ${redactUrl(request.url)} and there is no passthrough; ${handlers.length === 0 ? 'no handler is given' : `the handlers:\n${known}`}`,
      ),
    )
  }
  return roundTripper(async (request) => {
    const signal = request.signal
    if (signal.aborted) throw signal.reason
    const response = await abortable(getResponse([...handlers], request.clone()), signal, (late) => {
      if (late !== undefined) discardResponse(late)
    })
    if (response === undefined) return unmatched(request, 'no msw handler answered')
    if (response.headers.get('x-msw-intention') === 'passthrough') {
      discardResponse(response)
      return unmatched(request, 'the msw handler called passthrough()')
    }
    if (response.type === 'error') {
      throw new TestingError(ERR_MOCK_NETWORK_ERROR, `the msw handler answered ${request.method} ${redactUrl(request.url)} with a network error (HttpResponse.error())`)
    }
    return withResponseInfo(response, { url: request.url, redirected: false, type: 'basic' })
  })
}
