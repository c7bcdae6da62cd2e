// One reaction per call for a stack of layers. A layer that does something
// with the outcome of the layer below (a logger writing its record, a
// deadline settling) reacts to that layer's promise: a `.then` per layer and
// per call, each a promise, a reaction, two functions and a microtask (about
// 250–350 B and a hop per layer). A layer that declares kRoundTripThen takes
// its caller's reaction (a continuation) and calls it from its own: a stack
// of such layers reacts once, at the bottom, to the promise of what it wraps.
import { tryRoundTrip, type RoundTripper } from './round-tripper.js'

/**
 * RoundTripContinuation is what a layer does with the outcome of the layer
 * below it: the two reactions of a `.then`, as methods of one object (a
 * layer's per-call object), called as its methods. Either may return a
 * promise (a retry) or throw; what they return or throw is the outcome of
 * the call.
 */
export interface RoundTripContinuation {
  /** The layer below resolved with `response`. */
  received(response: Response): Response | PromiseLike<Response>
  /** The layer below rejected with `error`. */
  failed(error: unknown): Response | PromiseLike<Response>
}

/**
 * kRoundTripThen is the key of a RoundTripper's method `(request, k) =>
 * Promise<Response>` that does what `next.roundTrip(request).then((r) =>
 * k.received(r), (e) => k.failed(e))` does, without the promise and reaction
 * between them: the layer calls `k` from its own reaction to the layer below
 * (passing its own outcome on: `k.received` with the response it gives,
 * `k.failed` with the error it rejects with, the result of either as its
 * own). It calls at most one of them, once, never before the method
 * returned (from a reaction, as a `.then` would), and returns the promise
 * of the call with `k` applied. Call it through {@link roundTripThen},
 * which uses a `.then` for a layer that does not declare it. `chain()`'s
 * boundaries pass it on over a layer that declares `kResolvesResponse`.
 *
 * Declare it non-enumerable (`Object.defineProperty`, or a class method): a
 * user layer spread from one that declares it (`{ ...next, roundTrip }`)
 * must not copy it, or a layer above would call around that layer's own
 * `roundTrip`. A registered symbol: copies of core agree on it.
 */
export const kRoundTripThen: unique symbol = Symbol.for('@roundtrip/core.roundTripThen.v1')

type Then = (request: Request, k: RoundTripContinuation) => Promise<Response>

/**
 * roundTripThen sends `request` through `next` and applies `k` to the
 * outcome: `next.roundTrip(request).then(k.received, k.failed)` with `k`'s
 * methods called as its methods, in one reaction for the whole stack below
 * when `next` declares {@link kRoundTripThen}. A synchronous throw of
 * `next` reaches `k.failed`, as with `tryRoundTrip`.
 *
 * @example
 * ```ts
 * class Call implements RoundTripContinuation { received(r: Response) { log(r.status); return r } failed(e: unknown): never { throw e } }
 * return roundTripThen(next, request, new Call())
 * ```
 */
export function roundTripThen(next: RoundTripper, request: Request, k: RoundTripContinuation): Promise<Response> {
  const then = (next as { [kRoundTripThen]?: Then })[kRoundTripThen]
  if (typeof then !== 'function') return reactWith(tryRoundTrip(next, request), k)
  try {
    return then.call(next, request, k)
  } catch (error) {
    return reactWith(Promise.reject(error), k)
  }
}

/** reactWith applies `k` to `promise` with a `.then`: `k`'s methods, bound (two functions, no context object). */
export function reactWith(promise: PromiseLike<Response>, k: RoundTripContinuation): Promise<Response> {
  return Promise.resolve(promise).then(k.received.bind(k), k.failed.bind(k))
}
