import { callSignal, getContext, getReplayableBody, neverAborts, observeBody, type BodyListener, type CallSignal, type RoundTripper } from '@roundtrip/core'
import { withWrittenNames } from './header-names.js'

// Redirects and integrity belong to the fetch layer above (integrity is checked on the final response).
const MANUAL: RequestInit = { redirect: 'manual', integrity: '' }
// The same for a call nothing can abort: `signal: null` keeps Node's fetch from following the request's signal.
const MANUAL_UNABORTABLE: RequestInit = { ...MANUAL, signal: null }

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
 * The fetch below is aborted by the call's signal (core's `callSignal`): the
 * request's own, or one a layer above attached (a `timeout()` deadline). A
 * call signal that is not the request's own is handed down as an
 * `AbortSignal` of its own, followed until the call settles: the fetch
 * rejects, or the response body is read to the end, cancelled, fails or is
 * garbage-collected (the response is then core's `RoundTripResponse` over
 * the fetch's body, which passes its chunks through). A call nothing can
 * abort (core's `neverAborted`) hands down no signal (`signal: null` to Node's
 * fetch, so that it does not follow the request's own).
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
      const signal = callSignal(request)
      if (neverAborts(signal)) return send(request, null)
      if (signal === request.signal) return send(request, undefined)
      if (signal.aborted) return Promise.reject(signal.reason)
      const bridge = new SignalBridge(signal)
      return send(request, bridge.signal).then(
        (response) => observeBody(response, bridge),
        (error: unknown) => {
          bridge.release()
          throw error
        },
      )
    },
  }

  /** send calls the fetch below; `signal`: what aborts it, when not the request's own (undefined); null when nothing can. */
  function send(request: Request, signal: AbortSignal | null | undefined): Promise<Response> {
    // A declared body is handed over as its source, so that the fetch below knows its length.
    const declared = request.body === null ? undefined : getReplayableBody(request)
    if (native) {
      if (declared === undefined && signal == null) return fetchFn(request, signal === null ? MANUAL_UNABORTABLE : MANUAL)
      const init: RequestInit = { ...MANUAL }
      if (signal !== undefined) init.signal = signal
      if (declared !== undefined) init.body = declared.getBody()
      return fetchFn(request, init)
    }
    const init: RequestInit & { duplex?: 'half' } = {
      method: request.method,
      // The case the caller wrote header names in (a Headers object keeps none).
      headers: withWrittenNames(request.headers, getContext(request).headerNames),
      redirect: 'manual',
    }
    if (signal !== null) init.signal = signal ?? request.signal
    if (declared !== undefined) {
      init.body = declared.getBody()
    } else if (request.body !== null) {
      init.body = request.body
      init.duplex = 'half'
    }
    return fetchFn(request.url, init)
  }
}

/**
 * SignalBridge follows a call signal with an `AbortSignal` (a fetch takes no
 * other kind) until `release` is called: when the call settles, so that the
 * call signal — and the request's own signal under it — keeps no listener.
 */
class SignalBridge implements BodyListener {
  readonly #controller = new AbortController()
  readonly #from: CallSignal
  readonly #onAbort: () => void

  constructor(from: CallSignal) {
    this.#from = from
    this.#onAbort = abortWith(this.#controller, from)
    from.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Stops following (idempotent). */
  release(): void {
    this.#from.removeEventListener('abort', this.#onAbort)
  }

  /** The response body settled (BodyListener): the call is over. */
  bodySettled(): void {
    this.release()
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }
}

// Returned by functions, not literals assigned to fields: V8 allocates those in the old generation (issue 21).
function abortWith(controller: AbortController, from: CallSignal): () => void {
  return () => controller.abort(from.reason)
}
