import { wrapAll } from './chain.js'
import { declareRoundTripThen, roundTripThen } from './round-trip-then.js'
import { ERR_INVALID_MIDDLEWARE, RoundTripError } from './errors.js'
import { declareRejectsOnAbort, isRoundTripper, kRejectsOnAbort, rejectsOnAbort, type Closable, type Middleware, type RoundTripper } from './round-tripper.js'

/** A RoundTripper built by {@link compose}: the chain plus the base's lifecycle methods, forwarded. */
export interface ComposedRoundTripper extends RoundTripper, ForwardedLifecycle {
  /** Whether it rejects at once when the call's signal aborts: its outermost layer declares it (see `kRejectsOnAbort`). */
  readonly [kRejectsOnAbort]: boolean
}

/**
 * compose stacks middleware on a base RoundTripper. **The first middleware
 * listed is the outermost: it sees the request first and the response last.**
 * `compose(base, a, b)` is `a(b(base))`, so a request goes a → b → base.
 *
 * `compose(base, a, b)` is also `compose(base, chain(a, b))`; use `chain`
 * for a stack you want to name, share or check at run time.
 *
 * Note: undici's `compose` (on dispatchers) runs the other way; the order
 * here is the one of tower's `ServiceBuilder` and OkHttp's interceptor list.
 *
 * The result declares `kRejectsOnAbort` when its outermost layer does,
 * passes a caller's continuation on to that layer (`kRoundTripThen`, so a
 * compose inside createFetch or another stack still reacts once), and
 * forwards `closeIdleConnections()`, `close()` and
 * `Symbol.asyncDispose` to `base` when it has them, so a composed client can be
 * closed like the Transport under it.
 *
 * @throws RoundTripError `RT_INVALID_MIDDLEWARE` when a middleware is not a
 * function or does not return a RoundTripper; the message names which one.
 *
 * @example
 * ```ts
 * const client = compose(new Transport(), leakTracker(), userAgent('me/1.0'))
 * const response = await client.roundTrip(new Request('http://127.0.0.1:8080/'))
 * ```
 */
export function compose(base: RoundTripper & Closable, ...middleware: Middleware[]): ComposedRoundTripper {
  if (!isRoundTripper(base)) {
    throw new RoundTripError(ERR_INVALID_MIDDLEWARE, 'compose: the base is not a RoundTripper (it has no roundTrip method)')
  }
  const outer = wrapAll('compose', base, middleware)
  // It adds no wait of its own: it rejects on abort as promptly as its outermost layer (kRejectsOnAbort).
  // Non-enumerable: a spread copy of the client does not inherit it.
  const client = declareRejectsOnAbort({ roundTrip: (request: Request) => outer.roundTrip(request), ...forwardLifecycle(base) }, rejectsOnAbort(outer))
  // A caller's continuation goes on down to the outermost layer (kRoundTripThen): one reaction for the stack (non-enumerable, as above).
  return declareRoundTripThen(client, (request, k) => roundTripThen(outer, request, k))
}

/** The lifecycle methods of a wrapper, forwarded to what it wraps. */
export interface ForwardedLifecycle {
  /** Forwards to the wrapped `closeIdleConnections()` when it has one. */
  closeIdleConnections(): void
  /** Forwards to the wrapped `close()` (or `Symbol.asyncDispose`) when it has one; resolves at once otherwise. */
  close(): Promise<void>
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * forwardLifecycle returns the `closeIdleConnections()`, `close()` and
 * `Symbol.asyncDispose` of a wrapper around `inner`, each forwarded to
 * `inner` when it has it, as the RoundTripper contract asks of a wrapper.
 *
 * @example
 * ```ts
 * const logged = (next: RoundTripper & Closable) => ({ roundTrip: (r: Request) => next.roundTrip(r), ...forwardLifecycle(next) })
 * ```
 */
export function forwardLifecycle(inner: Closable): ForwardedLifecycle {
  const close = async (): Promise<void> => {
    if (typeof inner.close === 'function') await inner.close()
    else if (typeof inner[Symbol.asyncDispose] === 'function') await inner[Symbol.asyncDispose]!()
  }
  return { closeIdleConnections: () => inner.closeIdleConnections?.(), close, [Symbol.asyncDispose]: close }
}
