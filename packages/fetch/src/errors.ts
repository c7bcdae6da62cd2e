import { ROUND_TRIP_ERROR, RoundTripError, isRoundTripError, systemCause } from '@roundtrip/core'

/** Error code: a redirect could not be followed (bad location, scheme, count, credentials in the URL, or a body that cannot be replayed). */
export const ERR_REDIRECT = 'RT_REDIRECT'
/** Error code: `redirect: 'error'` and the server answered with a redirect. */
export const ERR_UNEXPECTED_REDIRECT = 'RT_UNEXPECTED_REDIRECT'
/** Error code: the URL's port is one the fetch standard blocks (25, 6666, …); nothing was dialed. */
export const ERR_BAD_PORT = 'RT_BAD_PORT'
/** Error code: the server answered `407 Proxy Authentication Required`, which fetch treats as a network error. */
export const ERR_PROXY_AUTH = 'RT_PROXY_AUTH_REQUIRED'

/** Warning code: `init.dispatcher` was given; it has no effect on createFetch (emitted once per fetch function). */
export const WARN_DISPATCHER = 'RT_FETCH_DISPATCHER_IGNORED'

/**
 * The property under which a `fetch failed` cause that is a system error
 * (`err.cause.code === 'ECONNREFUSED'`, as with Node's fetch) keeps the
 * roundtrip error that classified it: `err.cause.roundTripError.code` is
 * `RT_CONNECT_REFUSED`, its message names the request. (Core's.)
 */
export { ROUND_TRIP_ERROR }

/**
 * fetchFailed builds the error Node's fetch rejects with on a network
 * failure: `TypeError('fetch failed', { cause })`, the cause chosen by
 * core's `systemCause`: the system or undici error under the coded one from
 * the layer below (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`,
 * `UND_ERR_SOCKET`, …), as Node's fetch gives it, the coded error staying on
 * it as `cause.roundTripError`; the reason the caller's own request body
 * source failed with, under `RT_REQUEST_BODY_ERROR`; otherwise the coded
 * error itself.
 */
export function fetchFailed(error: unknown): TypeError {
  return new TypeError('fetch failed', { cause: systemCause(error) })
}

/**
 * bodyError is how createFetch's response bodies fail, as Node's fetch: a
 * producer's coded error (the connection closed mid-body, a decoder failed)
 * becomes `TypeError('terminated', { cause })`, the cause chosen as for
 * {@link fetchFailed} (the system or undici error, carrying the coded one);
 * anything else (an abort reason) is left as it is.
 */
export function bodyError(error: unknown): unknown {
  return isRoundTripError(error) ? new TypeError('terminated', { cause: systemCause(error) }) : error
}

/**
 * getRoundTripError returns the roundtrip classification of an error from
 * createFetch: the coded error (`code` `RT_*`, a message naming the request)
 * whether it is the `cause` itself or sits on a system-error cause as
 * `cause.roundTripError`; `undefined` for anything else (an abort reason, a
 * `TypeError` from an invalid URL).
 *
 * @example
 * ```ts
 * try { await fetch(url) }
 * catch (err) { if (getRoundTripError(err)?.code === 'RT_CONNECT_TIMEOUT') retryLater() }
 * ```
 */
export function getRoundTripError(error: unknown): RoundTripError | undefined {
  const cause = (error as { cause?: unknown } | null)?.cause
  if (isRoundTripError(cause)) return cause
  const inner = cause instanceof Error ? (cause as unknown as Record<string, unknown>)[ROUND_TRIP_ERROR] : undefined
  return isRoundTripError(inner) ? inner : undefined
}

/** redirectError builds the cause of a failed redirect, coded and naming the URL; `cause` is the failure under it, if any. */
export function redirectError(code: string, message: string, cause?: unknown): RoundTripError {
  return cause === undefined ? new RoundTripError(code, message) : new RoundTripError(code, message, { cause })
}
