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
 * kRoundTripThen is the key of a RoundTripper's {@link RoundTripThen}
 * declaration: a method `(request, k) => Promise<Response>` that does what
 * `next.roundTrip(request).then((r) => k.received(r), (e) => k.failed(e))`
 * does, without the promise and reaction between them, and the `roundTrip`
 * it stands for. The layer calls `k` from its own reaction to the layer
 * below (passing its own outcome on: `k.received` with the response it
 * gives, `k.failed` with the error it rejects with, the result of either as
 * its own). It calls at most one of them, once, never before the method
 * returned (from a reaction, as a `.then` would), and returns the promise
 * of the call with `k` applied. Call it through {@link roundTripThen},
 * which uses a `.then` for a layer that does not declare it, and for one
 * whose `roundTrip` is no longer the one the declaration stands for
 * (replaced after the declaration: `vi.spyOn(layer, 'roundTrip')`, a
 * monkeypatch, `Object.create(layer)` with a `roundTrip` of its own, a
 * Proxy): what the layer's `roundTrip` does now is what a call does.
 * `chain()`'s boundaries pass it on over a layer that declares
 * `kResolvesResponse`, and to what the chain wraps.
 *
 * Declare it with {@link declareRoundTripThen} (non-enumerable: a user layer
 * spread from one that declares it does not copy it). A registered symbol:
 * copies of core agree on it.
 */
export const kRoundTripThen: unique symbol = Symbol.for('@roundtrip/core.roundTripThen.v1')

/** The method of a {@link RoundTripThen} declaration, called as a method of the layer. */
export type RoundTripThenMethod<T extends RoundTripper = RoundTripper> = (this: T, request: Request, k: RoundTripContinuation) => Promise<Response>

/**
 * RoundTripThen is what a layer declares under {@link kRoundTripThen}: its
 * method `then`, used only while the layer's `roundTrip` is `roundTrip`.
 */
export interface RoundTripThen {
  /** The `roundTrip` that `then` stands for. */
  readonly roundTrip: RoundTripper['roundTrip']
  /** `roundTrip` with the caller's reaction applied (see {@link kRoundTripThen}). */
  readonly then: RoundTripThenMethod<never>
}

/**
 * declareRoundTripThen declares `then` as `target`'s {@link kRoundTripThen}
 * method, standing for `target.roundTrip` as it is now (non-enumerable,
 * configurable). `target` may be a class's prototype: its instances
 * inherit the declaration, with the method the class declares.
 *
 * @example
 * ```ts
 * const made = declareRoundTripThen({ roundTrip: (r) => roundTripThen(next, r, new Call(r)) }, (r, k) => roundTripThen(next, r, new Call(r, k)))
 * ```
 */
export function declareRoundTripThen<T extends RoundTripper>(target: T, then: RoundTripThenMethod<T>): T {
  const declared: RoundTripThen = { roundTrip: target.roundTrip, then: then as RoundTripThenMethod<never> }
  Object.defineProperty(target, kRoundTripThen, { value: declared, enumerable: false, writable: false, configurable: true })
  return target
}

/**
 * roundTripThen sends `request` through `next` and applies `k` to the
 * outcome: `next.roundTrip(request).then(k.received, k.failed)` with `k`'s
 * methods called as its methods, in one reaction for the whole stack below
 * when `next` declares {@link kRoundTripThen} for its current `roundTrip`. A synchronous throw of
 * `next` reaches `k.failed`, as with `tryRoundTrip`.
 *
 * @example
 * ```ts
 * class Call implements RoundTripContinuation { received(r: Response) { log(r.status); return r } failed(e: unknown): never { throw e } }
 * return roundTripThen(next, request, new Call())
 * ```
 */
export function roundTripThen(next: RoundTripper, request: Request, k: RoundTripContinuation): Promise<Response> {
  // One read and a compare: the declaration counts only while it stands for
  // the layer's roundTrip as it is now (not replaced on the instance, by a
  // derived object or a Proxy); an older form (a bare method) never does.
  const declared = (next as { [kRoundTripThen]?: RoundTripThen })[kRoundTripThen]
  if (declared?.roundTrip !== next.roundTrip) return reactWith(tryRoundTrip(next, request), k)
  try {
    return (declared!.then as RoundTripThenMethod).call(next, request, k)
  } catch (error) {
    return reactWith(Promise.reject(error), k)
  }
}

/**
 * reactWith applies `k` to `promise` with a `.then` (`k`'s methods, bound:
 * two functions, no context object), for a layer's slow path that has a
 * promise where a caller handed its reaction down (a retry, a call that
 * fails before it starts). Without `k` it returns `promise` as it is.
 *
 * @example
 * ```ts
 * if (signal.aborted) return reactWith(Promise.reject(signal.reason), k)
 * ```
 */
export function reactWith(promise: PromiseLike<Response>, k: RoundTripContinuation | undefined): Promise<Response> {
  const settled = Promise.resolve(promise)
  return k === undefined ? settled : settled.then(k.received.bind(k), k.failed.bind(k))
}
