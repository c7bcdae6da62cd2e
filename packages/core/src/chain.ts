import { ERR_INVALID_MIDDLEWARE, RoundTripError } from './errors.js'
import { isRoundTripper, type Middleware, type RoundTripper } from './round-tripper.js'

/** describeMiddleware names a middleware for messages: its position (1-based) and its function name. */
export function describeMiddleware(fn: Middleware, index: number): string {
  return fn.name ? `middleware #${index + 1} (${fn.name})` : `middleware #${index + 1}`
}

/** Guard wraps, at run time, the `next` a layer is handed and the layer itself (see {@link chain}). */
interface Guard {
  next(next: RoundTripper, name: string): RoundTripper
  layer(layer: RoundTripper, name: string): RoundTripper
}

/**
 * wrapAll applies `middleware` around `next`, the first listed outermost,
 * and checks that each one is a function returning a RoundTripper. `who`
 * names the caller in the error (`compose`, `chain`).
 */
export function wrapAll(who: string, next: RoundTripper, middleware: readonly Middleware[], guard?: Guard): RoundTripper {
  for (let i = middleware.length - 1; i >= 0; i--) {
    const mw = middleware[i]
    if (typeof mw !== 'function') {
      throw new RoundTripError(ERR_INVALID_MIDDLEWARE, `${who}: middleware #${i + 1} is not a function`)
    }
    const name = describeMiddleware(mw, i)
    const wrapped: unknown = mw(guard === undefined ? next : guard.next(next, name))
    if (!isRoundTripper(wrapped)) {
      throw new RoundTripError(ERR_INVALID_MIDDLEWARE, `${who}: ${name} did not return a RoundTripper`)
    }
    next = guard === undefined ? wrapped : guard.layer(wrapped, name)
  }
  return next
}

const CHECKS: Guard = { next: checkedNext, layer: checkedLayer }

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
 *   call reject;
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
    return wrapAll('chain', next, layers, CHECKS)
  }
}

function checkedLayer(layer: RoundTripper, name: string): RoundTripper {
  return {
    roundTrip(request) {
      let result: Promise<Response>
      try {
        result = layer.roundTrip(request)
      } catch (error) {
        return Promise.reject(error)
      }
      return Promise.resolve(result).then((response: unknown) => {
        if (response instanceof Response) return response
        throw new RoundTripError(
          ERR_INVALID_MIDDLEWARE,
          `${name} resolved with ${describeValue(response)} instead of a Response (${request.method} ${request.url})`,
        )
      })
    },
  }
}

function checkedNext(inner: RoundTripper, name: string): RoundTripper {
  const sent = new WeakSet<Request>()
  return {
    roundTrip(request) {
      if (request.body !== null) {
        if (sent.has(request)) {
          return Promise.reject(
            new RoundTripError(
              ERR_INVALID_MIDDLEWARE,
              `${name} called next twice with the same request, whose body was already sent (${request.method} ${request.url}); ` +
                'build a new request with the body produced again (getReplayableBody) for each call',
            ),
          )
        }
        sent.add(request)
      }
      try {
        return inner.roundTrip(request)
      } catch (error) {
        return Promise.reject(error)
      }
    },
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no constructor'})`
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`
}
