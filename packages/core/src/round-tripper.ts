/**
 * RoundTripper is the interface for executing a single HTTP transaction:
 * given a request, obtain a response.
 *
 * Every implementation keeps these rules, as Go's `http.RoundTripper` does:
 *
 * - It executes exactly one HTTP transaction. Any status is success: it does
 *   not turn a non-2xx status into an error, does not follow redirects, does
 *   not retry at the HTTP level and does not handle cookies. Those belong to
 *   layers above (the fetch adapter, middleware).
 * - It does not mutate `request`. A layer that needs a changed request builds
 *   a new one with `deriveRequest`, which keeps the per-request context.
 * - It resolves with a response, or rejects with an error when no response
 *   could be obtained. When `request.signal` aborts before the response is
 *   delivered, it rejects with `request.signal.reason`. A layer that waits on
 *   something listens to `callSignal(request)`, which is `request.signal`
 *   unless a layer above attached its own (a deadline: see `attachHooks`),
 *   or `neverAborted` when the request was declared never to abort
 *   (`withUnabortableSignal`: createFetch's without a caller signal).
 * - A request is in at most one call at a time (Go's rule): it is not sent
 *   again, or concurrently, before its call settled.
 * - The caller owns `response.body`: it must read it to the end or cancel it
 *   (`response.body?.cancel()`). The transport releases the connection behind
 *   the response when that happens. An unread, uncancelled body may pin a
 *   connection; the leak tracker finds those.
 * - Resources that outlive one call (connection pools) are released by
 *   `close()`; see {@link Closable}.
 *
 * @example
 * ```ts
 * const logging: Middleware = (next) => roundTripper(async (request) => {
 *   const response = await next.roundTrip(request)
 *   console.log(request.method, request.url, response.status)
 *   return response
 * })
 * ```
 */
export interface RoundTripper {
  /** Executes one HTTP transaction; see the interface's contract. */
  roundTrip(request: Request): Promise<Response>
}

/**
 * Closable is the optional lifecycle side of a RoundTripper that owns
 * resources, such as the pooled Transport. Wrappers forward these calls to
 * what they wrap.
 */
export interface Closable {
  /** Closes connections that are idle now; busy ones are left alone. */
  closeIdleConnections?(): void
  /** Closes idle connections, lets in-flight responses finish and rejects new requests. */
  close?(): Promise<void>
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose]?(): Promise<void>
}

/**
 * Middleware is a function that wraps a RoundTripper in another one, the way
 * an OkHttp interceptor or a tower layer does. The returned RoundTripper keeps
 * the RoundTripper contract; it sees the request before `next` and the
 * response after it.
 */
export type Middleware = (next: RoundTripper) => RoundTripper

/**
 * kResolvesResponse is the key under which a RoundTripper declares that its
 * `roundTrip` resolves only with a `Response` (the one the layer below gave
 * it, or one it built). `chain()` checks, at each boundary between two
 * layers, that the inner layer resolved with a `Response`, which costs a
 * `.then` per layer and per call; it skips that check for a layer that
 * declares this (`true`). Declare it only for a layer that keeps that
 * promise whatever the layers below it do (what they resolve with is still
 * checked at their own boundary); the middleware of `@roundtrip/middleware`
 * do. Declare it with {@link declareResolvesResponse} (or a class getter),
 * not as an enumerable property: a layer spread from one that declares it
 * (`{ ...next, roundTrip }`) must not inherit it. A registered symbol:
 * copies of core agree on it.
 *
 * @example
 * ```ts
 * const tagged: Middleware = (next) => declareResolvesResponse({ roundTrip: (request: Request) => next.roundTrip(request) })
 * ```
 */
export const kResolvesResponse: unique symbol = Symbol.for('@roundtrip/core.resolvesResponse.v1')

/**
 * kRejectsOnAbort is the key under which a RoundTripper declares that when
 * the call's signal aborts before its `roundTrip` resolved (the signal in
 * effect when the call began: `callSignal(request)`), it rejects at once
 * with that signal's `reason`, whatever it was waiting for (a connection, a
 * dial, the response head, a queue, a backoff): from the signal's abort
 * listener, not when the network answers. Every RoundTripper should react
 * to the call's signal; this declares that it does so promptly, so a layer
 * above may lean on it. `timeout()` then makes no promise of its own to give
 * its caller the `TimeoutError` on time over a layer below that would not.
 *
 * The Transport declares it (`true`). A middleware whose own waits react to
 * the call's signal declares it when the layer it wraps does (see
 * {@link rejectsOnAbort}); `chain()`'s boundaries pass it on. A layer that
 * declares it wrongly makes a deadline above it late, never wrong: the
 * deadline's error still wins, and a late response is released.
 *
 * Declare it with {@link declareRejectsOnAbort} (a non-enumerable own
 * property) or a class getter, never as an enumerable property (an object
 * literal's `[kRejectsOnAbort]: true`, a class field): a user layer spread
 * from one that declares it, `(next) => ({ ...next, roundTrip: async (r) =>
 * { await token(); return next.roundTrip(r) } })`, would copy the
 * declaration while its own wait does not react to the signal, and a
 * `timeout()` above it would be late by that whole wait.
 *
 * A registered symbol: copies of core agree on it.
 *
 * @example
 * ```ts
 * const tagged: Middleware = (next) => declareRejectsOnAbort({ roundTrip: (request: Request) => next.roundTrip(request) }, rejectsOnAbort(next))
 * ```
 */
export const kRejectsOnAbort: unique symbol = Symbol.for('@roundtrip/core.rejectsOnAbort.v1')

/** rejectsOnAbort reports whether `roundTripper` declares {@link kRejectsOnAbort} (`true`), as an own property or through its prototype (a class getter). */
export function rejectsOnAbort(roundTripper: RoundTripper): boolean {
  return (roundTripper as { [kRejectsOnAbort]?: unknown })[kRejectsOnAbort] === true
}

/**
 * declareRejectsOnAbort declares on `target` whether it rejects at once on
 * the call's signal's abort ({@link kRejectsOnAbort}): a non-enumerable,
 * read-only own property, which a spread (`{ ...target }`) or
 * `Object.assign` does not copy. Returns `target`.
 */
export function declareRejectsOnAbort<T extends object>(target: T, value = true): T & { readonly [kRejectsOnAbort]: boolean } {
  return Object.defineProperty(target, kRejectsOnAbort, { value, enumerable: false, writable: false, configurable: true }) as T & { readonly [kRejectsOnAbort]: boolean }
}

/**
 * declareResolvesResponse declares on `target` that its `roundTrip`
 * resolves only with a Response ({@link kResolvesResponse}): a
 * non-enumerable, read-only own property, which a spread does not copy.
 * Returns `target`.
 */
export function declareResolvesResponse<T extends object>(target: T): T & { readonly [kResolvesResponse]: true } {
  return Object.defineProperty(target, kResolvesResponse, { value: true, enumerable: false, writable: false, configurable: true }) as T & { readonly [kResolvesResponse]: true }
}

/** RoundTripFunction is the function form of {@link RoundTripper.roundTrip}. */
export type RoundTripFunction = (request: Request) => Promise<Response>

/**
 * roundTripper makes a RoundTripper from a function, like Go's
 * `http.HandlerFunc`.
 *
 * @example
 * ```ts
 * const teapot = roundTripper(async () => new Response('short and stout', { status: 418 }))
 * ```
 */
export function roundTripper(fn: RoundTripFunction): RoundTripper {
  if (typeof fn !== 'function') {
    throw new TypeError(`roundTripper: expected a function, got ${typeof fn}`)
  }
  return { roundTrip: fn }
}

/** isRoundTripper reports whether `value` has a `roundTrip` method. */
export function isRoundTripper(value: unknown): value is RoundTripper {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { roundTrip?: unknown }).roundTrip === 'function'
  )
}

/**
 * tryRoundTrip calls `next.roundTrip(request)` and returns its promise; a
 * synchronous throw (a RoundTripper that broke its contract) becomes a
 * rejection, so that the caller's bookkeeping in `.then` runs either way.
 */
export function tryRoundTrip(next: RoundTripper, request: Request): Promise<Response> {
  try {
    return next.roundTrip(request)
  } catch (error) {
    return Promise.reject(error)
  }
}
