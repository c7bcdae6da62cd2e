import { shared } from './internal.js'
import { carryCallHooks } from './call-hooks.js'
import { carryReplayableBody } from './replayable-body.js'

/**
 * RequestContext is the set of per-request values a layer can attach to a
 * request for the layers below it: trace hooks, per-request options. Packages
 * add their own keys by declaration merging:
 *
 * ```ts
 * declare module '@roundtrip/core' {
 *   interface RequestContext { trace?: ClientTrace }
 * }
 * ```
 */
export interface RequestContext {
  /**
   * `false` asks for the response body as the server sent it: a RoundTripper
   * that decodes `content-encoding` (the Transport) neither adds an
   * `accept-encoding` of its own nor decodes the body of this request, and
   * the `content-encoding` header says what the bytes are. Layers that speak
   * the wire format to their caller (an undici dispatcher over a
   * RoundTripper) set it. Undefined or `true`: the RoundTripper's default.
   */
  decompress?: boolean
}

// One map for every installed copy of core: a context attached by one copy
// (createFetch's) is seen by another (a Transport bundled with a different version).
const contexts = shared('@roundtrip/core.requestContexts.v1', () => new WeakMap<Request, Readonly<RequestContext>>())
const EMPTY: Readonly<RequestContext> = Object.freeze({})

/**
 * getContext returns the values attached to `request` (an empty frozen object
 * when there are none). The result must not be mutated; use
 * {@link withContext} or {@link deriveRequest}.
 */
export function getContext(request: Request): Readonly<RequestContext> {
  return contexts.get(request) ?? EMPTY
}

/**
 * withContext attaches `values` to `request`, merged over the values it
 * already carries, and returns the same request. It is for the code that
 * created the request; a middleware that wants different values for the
 * layers below it uses {@link deriveRequest} instead, so that its caller's
 * request is left as it was — or, for hooks that hold only during its call
 * (an abort signal, trace hooks), `attachHooks`, which builds no request.
 *
 * @example
 * ```ts
 * const request = withContext(new Request(url), { trace: { gotConn: (i) => console.log(i.reused) } })
 * ```
 */
export function withContext<T extends Request>(request: T, values: Partial<RequestContext>): T {
  const current = contexts.get(request)
  contexts.set(request, Object.freeze(current ? { ...current, ...values } : { ...values }))
  return request
}

/**
 * deriveRequest builds a new request from `request` and `init` (as
 * `new Request(request, init)` does) and carries the per-request context
 * over, merged with `values` when given, and the hooks the layers above
 * attached for the call ({@link attachHooks}; their signals only when `init`
 * brings no signal of its own). This is how a middleware changes a request
 * without mutating its caller's. Building a Request costs: a layer that only
 * needs to tell the layers below something for its call (a deadline, trace
 * hooks) attaches hooks instead.
 *
 * @example
 * ```ts
 * const userAgent = (ua: string): Middleware => (next) => roundTripper((request) => {
 *   const headers = new Headers(request.headers)
 *   headers.set('user-agent', ua)
 *   return next.roundTrip(deriveRequest(request, { headers }))
 * })
 * ```
 */
export function deriveRequest(request: Request, init?: RequestInit, values?: Partial<RequestContext>): Request {
  const derived = new Request(request, init)
  // The body moves over unless init brings another one: so does its declaration.
  if (init?.body === undefined && derived.body !== null) carryReplayableBody(request, derived)
  const current = contexts.get(request)
  if (current !== undefined || values !== undefined) {
    contexts.set(derived, Object.freeze({ ...current, ...values }))
  }
  carryCallHooks(request, derived, init?.signal !== undefined)
  return derived
}
