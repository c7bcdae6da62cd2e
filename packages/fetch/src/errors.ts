import { RoundTripError } from '@roundtrip/core'

/** Error code: a redirect could not be followed (bad location, scheme, count, or a body that cannot be replayed). */
export const ERR_REDIRECT = 'RT_REDIRECT'
/** Error code: `redirect: 'error'` and the server answered with a redirect. */
export const ERR_UNEXPECTED_REDIRECT = 'RT_UNEXPECTED_REDIRECT'

/**
 * fetchFailed builds the error Node's fetch rejects with on a network
 * failure: `TypeError('fetch failed', { cause })`, where `cause` is the coded
 * error from the layer below.
 */
export function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause })
}

/** redirectError builds the cause of a failed redirect, coded and naming the URL. */
export function redirectError(code: string, message: string): RoundTripError {
  return new RoundTripError(code, message)
}
