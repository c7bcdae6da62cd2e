import { kResolvesResponse, type RoundTripFunction, type RoundTripper } from '@roundtrip/core'

/**
 * layer makes the RoundTripper of one of this package's middleware. Each of
 * them resolves only with the Response the layer below gave it, or one made
 * over it, so it declares core's `kResolvesResponse`: inside a `chain()` its
 * result is not checked again (a `.then` per layer and per call saved).
 */
export function layer(roundTrip: RoundTripFunction): RoundTripper {
  const rt: RoundTripper & { [kResolvesResponse]: true } = { roundTrip, [kResolvesResponse]: true }
  return rt
}
