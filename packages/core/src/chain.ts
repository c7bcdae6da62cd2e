import { ERR_INVALID_MIDDLEWARE, RoundTripError } from './errors.js'
import { declareRejectsOnAbort, isRoundTripper, kRejectsOnAbort, kResolvesResponse, rejectsOnAbort, tryRoundTrip, type Middleware, type RoundTripper } from './round-tripper.js'
import { declareRoundTripThen, reactWith, roundTripThen, type RoundTripContinuation } from './round-trip-then.js'

/** describeMiddleware names a middleware for messages: its position (1-based) and its function name. */
function describeMiddleware(fn: Middleware, index: number): string {
  return fn.name ? `middleware #${index + 1} (${fn.name})` : `middleware #${index + 1}`
}

/**
 * wrapAll applies `middleware` around `next`, the first listed outermost,
 * and checks that each one is a function returning a RoundTripper. `who`
 * names the caller in the error (`compose`, `chain`). With `checked`, every
 * boundary between two layers gets one {@link Boundary} (see {@link chain}).
 */
export function wrapAll(who: string, next: RoundTripper, middleware: readonly Middleware[], checked = false): RoundTripper {
  let inner: string | undefined
  for (let i = middleware.length - 1; i >= 0; i--) {
    const mw = middleware[i]
    if (typeof mw !== 'function') {
      throw new RoundTripError(ERR_INVALID_MIDDLEWARE, `${who}: middleware #${i + 1} is not a function`)
    }
    const name = describeMiddleware(mw, i)
    const wrapped: unknown = mw(checked ? new Boundary(next, name, inner) : next)
    if (!isRoundTripper(wrapped)) {
      throw new RoundTripError(ERR_INVALID_MIDDLEWARE, `${who}: ${name} did not return a RoundTripper`)
    }
    next = wrapped
    inner = name
  }
  return checked && inner !== undefined ? new Boundary(next, undefined, inner) : next
}

/**
 * chain makes one {@link Middleware} of several: `chain(a, b, c)` wraps
 * `next` as `a(b(c(next)))`. **The first middleware listed is the
 * outermost**: it sees the request first and the response last, the same
 * order as `compose(base, a, b, c)`, which is `compose(base, chain(a, b, c))`.
 * A stack is itself a layer (tower's `ServiceBuilder`), so a chain can be
 * named, shared and nested in another chain or a `compose`.
 *
 * At run time a chain enforces the RoundTripper contract on each layer, as
 * OkHttp's interceptor chain does, and names the offender (position and
 * function name) in the error, coded `RT_INVALID_MIDDLEWARE`:
 * - a layer that resolves with something that is not a `Response` makes the
 *   call reject (a layer that declares {@link kResolvesResponse} is trusted
 *   with this, and its calls go on without that check);
 * - a layer that calls `next` twice with the same request object that has a
 *   body (its body was sent the first time; derive a new request with the
 *   body produced again, see `getReplayableBody`) gets that second call
 *   rejected; calling `next` again with a bodiless request (a retry) is fine;
 * - a layer whose `roundTrip` throws synchronously makes the call reject
 *   with what it threw, instead of throwing at the caller.
 *
 * @throws RoundTripError `RT_INVALID_MIDDLEWARE` when the chain is applied
 * and a middleware is not a function or does not return a RoundTripper.
 *
 * @example
 * ```ts
 * const resilient = chain(retry(), timeout(5_000))
 * const client = compose(new Transport(), logger({ log: console }), resilient)
 * ```
 */
export function chain(...middleware: Middleware[]): Middleware {
  const layers = middleware.slice()
  for (let i = 0; i < layers.length; i++) {
    if (typeof layers[i] !== 'function') {
      throw new RoundTripError(ERR_INVALID_MIDDLEWARE, `chain: middleware #${i + 1} is not a function`)
    }
  }
  return function chained(next: RoundTripper): RoundTripper {
    if (!isRoundTripper(next)) {
      throw new RoundTripError(ERR_INVALID_MIDDLEWARE, 'chain: next is not a RoundTripper (it has no roundTrip method)')
    }
    return wrapAll('chain', next, layers, true)
  }
}

/**
 * Boundary is the one wrapper between two layers of a chain: the `next` the
 * outer layer (`caller`) is handed, over the inner layer (`callee`, undefined
 * for what the chain wraps). It rejects a second send of the same bodied
 * request by the caller, turns a synchronous throw of the callee into a
 * rejection, and checks that the callee resolves with a Response. It
 * declares {@link kRejectsOnAbort} when the callee does: it adds no wait.
 * Its `kRoundTripThen` (declared on the prototype with core's
 * declareRoundTripThen: a spread copy does not get it, and an instance
 * whose `roundTrip` is replaced is called through that) passes a caller's
 * continuation on to a callee it does not check.
 */
class Boundary implements RoundTripper {
  /** Declared in the constructor, non-enumerable (declareRejectsOnAbort): a spread copy does not inherit it. */
  declare readonly [kRejectsOnAbort]: boolean
  readonly #inner: RoundTripper
  readonly #caller: string | undefined
  readonly #callee: string | undefined
  /** The inner layer declares that it resolves only with a Response (kResolvesResponse): not checked. */
  readonly #trusted: boolean
  #sent: WeakSet<Request> | undefined

  constructor(inner: RoundTripper, caller: string | undefined, callee: string | undefined) {
    this.#inner = inner
    this.#caller = caller
    this.#callee = callee
    this.#trusted = (inner as { [kResolvesResponse]?: unknown })[kResolvesResponse] === true
    declareRejectsOnAbort(this, rejectsOnAbort(inner))
  }

  roundTrip(request: Request): Promise<Response> {
    const refused = this.#refuse(request)
    if (refused !== undefined) return refused
    const result = tryRoundTrip(this.#inner, request)
    const callee = this.#callee
    if (callee === undefined || this.#trusted) return result
    return Promise.resolve(result).then((response: unknown) => {
      if (response instanceof Response) return response
      throw new RoundTripError(
        ERR_INVALID_MIDDLEWARE,
        `${callee} resolved with ${describeValue(response)} instead of a Response (${request.method} ${request.url})`,
      )
    })
  }

  static {
    // kRoundTripThen: passed on to an inner layer that is not checked (it declares kResolvesResponse, or is what the chain wraps); a `.then` otherwise.
    declareRoundTripThen(Boundary.prototype, function (this: Boundary, request: Request, k: RoundTripContinuation): Promise<Response> {
      if (this.#callee !== undefined && !this.#trusted) return reactWith(this.roundTrip(request), k)
      const refused = this.#refuse(request)
      return refused !== undefined ? reactWith(refused, k) : roundTripThen(this.#inner, request, k)
    })
  }

  /** The rejection of a second send of the same bodied request by the caller; undefined when the request may go. */
  #refuse(request: Request): Promise<never> | undefined {
    if (this.#caller === undefined || request.body === null) return undefined
    const sent = (this.#sent ??= new WeakSet())
    if (!sent.has(request)) {
      sent.add(request)
      return undefined
    }
    return Promise.reject(
      new RoundTripError(
        ERR_INVALID_MIDDLEWARE,
        `${this.#caller} called next twice with the same request, whose body was already sent (${request.method} ${request.url}); ` +
          'build a new request with the body produced again (getReplayableBody) for each call',
      ),
    )
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no constructor'})`
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`
}
