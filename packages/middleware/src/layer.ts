import { declareRejectsOnAbort, declareResolvesResponse, rejectsOnAbort, type RoundTripFunction, type RoundTripper } from '@roundtrip/core'

/**
 * layer makes the RoundTripper of one of this package's middleware. Each of
 * them resolves only with the Response the layer below gave it, or one made
 * over it, so it declares core's `kResolvesResponse`: inside a `chain()` its
 * result is not checked again (a `.then` per layer and per call saved).
 * Given `next` (a layer whose own waits react to the call's signal at once),
 * it also declares `kRejectsOnAbort` when `next` does: a `timeout()` above
 * it then needs no promise of its own.
 */
export function layer(roundTrip: RoundTripFunction, next?: RoundTripper): RoundTripper {
  // Non-enumerable declarations: a user layer spread from this one ({ ...next, roundTrip }) does not inherit them.
  return declareRejectsOnAbort(declareResolvesResponse({ roundTrip }), next !== undefined && rejectsOnAbort(next))
}
