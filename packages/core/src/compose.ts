import { wrapAll } from './chain.js'
import { ERR_INVALID_MIDDLEWARE, RoundTripError } from './errors.js'
import { isRoundTripper, type Closable, type Middleware, type RoundTripper } from './round-tripper.js'

/** A RoundTripper built by {@link compose}: the chain plus the base's lifecycle methods. */
export interface ComposedRoundTripper extends RoundTripper {
  /** Forwards to the base's `closeIdleConnections()` when it has one. */
  closeIdleConnections(): void
  /** Forwards to the base's `close()` when it has one; resolves at once otherwise. */
  close(): Promise<void>
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>
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
 * The result forwards `closeIdleConnections()`, `close()` and
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
  const close = async (): Promise<void> => {
    if (typeof base.close === 'function') await base.close()
    else if (typeof base[Symbol.asyncDispose] === 'function') await base[Symbol.asyncDispose]!()
  }
  return {
    roundTrip: (request) => outer.roundTrip(request),
    closeIdleConnections: () => base.closeIdleConnections?.(),
    close,
    [Symbol.asyncDispose]: close,
  }
}
