import {
  declareRejectsOnAbort,
  declareResolvesResponse,
  declareRoundTripThen,
  rejectsOnAbort,
  type RoundTripContinuation,
  type RoundTripFunction,
  type RoundTripper,
} from '@roundtrip/core'

/** The function form of a layer's `kRoundTripThen` method (core's RoundTripThenMethod, with no `this`). */
export type RoundTripThenFunction = (request: Request, k: RoundTripContinuation) => Promise<Response>

/**
 * layer makes the RoundTripper of one of this package's middleware. Each of
 * them resolves only with the Response the layer below gave it, or one made
 * over it, so it declares core's `kResolvesResponse`: inside a `chain()` its
 * result is not checked again (a `.then` per layer and per call saved).
 * Given `next` (a layer whose own waits react to the call's signal at once),
 * it also declares `kRejectsOnAbort` when `next` does: a `timeout()` above
 * it then needs no promise of its own. Given `then`, it declares core's
 * `kRoundTripThen` with it (core's `declareRoundTripThen`, for this
 * `roundTrip`): a layer above hands its reaction down, and the stack reacts
 * once per call to the promise below it — unless the layer's `roundTrip` is
 * replaced later (a spy, a monkeypatch), which is then what a call does.
 */
export function layer(roundTrip: RoundTripFunction, next?: RoundTripper, then?: RoundTripThenFunction): RoundTripper {
  // Non-enumerable declarations: a user layer spread from this one ({ ...next, roundTrip }) does not inherit them.
  const made = declareRejectsOnAbort(declareResolvesResponse({ roundTrip }), next !== undefined && rejectsOnAbort(next))
  return then === undefined ? made : declareRoundTripThen(made, then)
}
