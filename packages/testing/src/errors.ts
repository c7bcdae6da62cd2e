import { RoundTripError, type RoundTripErrorOptions } from '@roundtrip/core'

/** Error code: no interceptor of a MockTransport (or handler given to `fromMsw`) matched the request, and there is no passthrough. */
export const ERR_MOCK_NO_MATCH = 'RT_MOCK_NO_MATCH'
/** Error code: `assertNoPendingInterceptors()` found interceptors that were expected to be called and were not. */
export const ERR_MOCK_PENDING = 'RT_MOCK_PENDING'
/** Error code: an interceptor or reply was set up wrongly (bad matcher, bad status, a stream body replied twice). */
export const ERR_MOCK_INVALID = 'RT_MOCK_INVALID'
/** Error code: `record()` in `'replay'` mode was asked a request it has no recording for. */
export const ERR_RECORDING_MISSING = 'RT_RECORDING_MISSING'
/** Error code: a recording file could not be read or is not a recording. */
export const ERR_RECORDING_INVALID = 'RT_RECORDING_INVALID'
/** Error code: an msw handler answered with `HttpResponse.error()` (a network error, as Node's fetch would see it). */
export const ERR_MOCK_NETWORK_ERROR = 'RT_MOCK_NETWORK_ERROR'

/**
 * TestingError is the error this package throws or rejects with. `code` is
 * one of the `ERR_*` constants of this package; match on it, not on the
 * message.
 */
export class TestingError extends RoundTripError {
  constructor(code: string, message: string, options?: RoundTripErrorOptions) {
    super(code, message, options)
    this.name = 'TestingError'
  }
}
