import { shared } from './internal.js'
import { carryCallHooks } from './call-hooks.js'
import { carryUnabortable } from './call-signal.js'
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
  /**
   * The case to send header names in, for servers that compare names
   * case-sensitively: lower-case name → the name as the caller wrote it. A
   * `Headers` object keeps names in lower case; createFetch fills this from
   * the `init.headers` it was given, as undici's fetch sends the case the
   * caller wrote. A RoundTripper that writes HTTP/1.1 (the Transport) sends
   * the names so; HTTP/2 is lower case by definition. Undefined: lower case.
   */
  headerNames?: ReadonlyMap<string, string>
  /**
   * `true` says the request body is a stream of unknown length (a
   * `ReadableStream` or async iterable the caller gave): a RoundTripper sends
   * it as it comes (chunked), as undici's fetch does, rather than reading
   * ahead to learn a length. createFetch sets it. Undefined: the
   * RoundTripper's default (the Transport collects what an undeclared body
   * yields at once, so that a `Request` made from a string gets a length).
   */
  streamedBody?: boolean
  /**
   * A limit of this request on the wait for its response head, in ms,
   * counted from when the request is handed to its connection (as undici's
   * `headersTimeout`): a RoundTripper that has a limit of its own (the
   * Transport's `responseHeaderTimeout`) applies the smaller of the two. A
   * finite number of 0 or more; 0 or undefined: none of the request's (the
   * RoundTripper's own still applies). `@roundtrip/undici`'s `toDispatcher`
   * sets it from a dispatch's `headersTimeout`.
   */
  responseHeaderTimeout?: number
  /**
   * A limit of this request on the time between two reads of its response
   * body from the connection, in ms (as undici's `bodyTimeout`; a reader that
   * pauses the body stops it): the smaller of this and the RoundTripper's own
   * (the Transport's `bodyTimeout`) applies. 0 or undefined: none of the
   * request's. `toDispatcher` sets it from a dispatch's `bodyTimeout`.
   */
  bodyTimeout?: number
}

// One map for every installed copy of core: a context attached by one copy
// (createFetch's) is seen by another (a Transport bundled with a different version).
const contexts = shared('@roundtrip/core.requestContexts.v1', () => new WeakMap<Request, Readonly<RequestContext>>())
const EMPTY: Readonly<RequestContext> = Object.freeze({})
/** Each request built by deriveRequest or carryRequest, to the request it was built from (shared across copies, as `contexts`). */
const sources = shared('@roundtrip/core.derivedFrom.v1', () => new WeakMap<Request, Request>())

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
  // Not `{ ...values }` alone: V8 clones the source's shape for a single
  // spread, and freezing that clone costs ~0.8 µs (a new shape each time);
  // two spreads build a fresh object, frozen in ~0.1 µs.
  contexts.set(request, Object.freeze({ ...contexts.get(request), ...values }))
  return request
}

/**
 * deriveRequest builds a new request from `request` and `init` (as
 * `new Request(request, init)` does) and carries the per-request context
 * over, merged with `values` when given, and the hooks the layers above
 * attached for the call ({@link attachHooks}; their signals only when `init`
 * brings no signal of its own), and, under the same condition, a declaration
 * that the request's signal never aborts (`withUnabortableSignal`). This is how a middleware changes a request
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
  carryRequest(request, derived, { body: init?.body === undefined && derived.body !== null })
  if (values !== undefined) contexts.set(derived, Object.freeze({ ...contexts.get(request), ...values }))
  const ownSignal = init?.signal !== undefined
  carryCallHooks(request, derived, ownSignal)
  // Without a signal of its own the derived request follows the caller's: one that never aborts still never does.
  if (!ownSignal) carryUnabortable(request, derived)
  return derived
}

/**
 * carryRequest gives `to` what core keeps for `from`: its per-request
 * context and, when `options.body` is true (`to` has `from`'s body, moved
 * over or produced again), the declaration of that body
 * (`withReplayableBody`). It is for a request built anew for the same
 * transaction where {@link deriveRequest} does not serve: a redirect hop,
 * whose URL differs. `to` is then derived from `from` ({@link derivedFrom}).
 * Returns `to`.
 */
export function carryRequest<T extends Request>(from: Request, to: T, options: { body: boolean }): T {
  if (from !== to) sources.set(to, from)
  if (options.body) carryReplayableBody(from, to)
  const current = contexts.get(from)
  if (current !== undefined) contexts.set(to, current)
  return to
}

/**
 * derivedFrom returns the request `request` was built from by
 * {@link deriveRequest} or {@link carryRequest}, undefined for a request
 * built otherwise. A layer that names requests it saw go by (a leak
 * tracker, a recorder) follows it to the request its caller made, from the
 * one a layer below it got: `for (let r = request; r !== undefined; r = derivedFrom(r))`.
 */
export function derivedFrom(request: Request): Request | undefined {
  return sources.get(request)
}
