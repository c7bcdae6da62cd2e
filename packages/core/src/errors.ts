const kBrand = Symbol.for('@roundtrip/core.RoundTripError')

/** Options accepted by {@link RoundTripError} and its subclasses. */
export interface RoundTripErrorOptions {
  /** The underlying error, when there is one. */
  cause?: unknown
}

/**
 * RoundTripError is the base class of every error the roundtrip packages
 * throw or reject with. It carries a stable string `code` (match on it, not on
 * the message) and, when there is one, the underlying `cause`.
 *
 * `instanceof RoundTripError` and {@link isRoundTripError} hold even when two
 * copies of `@roundtrip/core` are installed: the check looks for a brand
 * registered with `Symbol.for`, not for this exact class.
 *
 * @example
 * ```ts
 * try { await transport.roundTrip(request) }
 * catch (err) { if (isRoundTripError(err, 'RT_CONNECT_TIMEOUT')) retryLater() }
 * ```
 */
export class RoundTripError extends Error {
  /** A stable identifier of the failure, such as `RT_CONNECT_TIMEOUT`. */
  readonly code: string

  constructor(code: string, message: string, options?: RoundTripErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'RoundTripError'
    this.code = code
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === RoundTripError) return isRoundTripError(value)
    return Function.prototype[Symbol.hasInstance].call(this, value)
  }
}

Object.defineProperty(RoundTripError.prototype, kBrand, { value: true })

/**
 * isRoundTripError reports whether `value` is a {@link RoundTripError} from
 * any copy of this package, optionally with the given `code`.
 */
export function isRoundTripError(value: unknown, code?: string): value is RoundTripError {
  if (typeof value !== 'object' || value === null) return false
  if ((value as Record<symbol, unknown>)[kBrand] !== true) return false
  return code === undefined || (value as RoundTripError).code === code
}

/**
 * The property under which the error {@link systemCause} returns keeps the
 * roundtrip error that classified it (`err.roundTripError.code` is
 * `RT_CONNECT_REFUSED`, its message names the request).
 */
export const ROUND_TRIP_ERROR = 'roundTripError'

// @roundtrip/transport's ERR_REQUEST_BODY: its cause is the error of the caller's own body source.
const REQUEST_BODY_ERROR = 'RT_REQUEST_BODY_ERROR'

/** Sets `coded` on `inner` as {@link ROUND_TRIP_ERROR} unless it is frozen or has one (the first request's), and returns `inner`. */
function withRoundTripError<T extends object>(inner: T, coded: RoundTripError): T {
  if (Object.isExtensible(inner) && !Object.hasOwn(inner, ROUND_TRIP_ERROR)) {
    Object.defineProperty(inner, ROUND_TRIP_ERROR, { value: coded, configurable: true, writable: true })
  }
  return inner
}

// undici's brand for its HTTPParserError, which it checks with instanceof across copies of the package (Node's bundled one too).
const UNDICI_PARSER_ERROR = Symbol.for('undici.error.UND_ERR_HTTP_PARSER')

/** isParserError tells undici's `HTTPParserError` (by its brand, or by name for a copy without one): a malformed response, often without a `code`. */
function isParserError(error: Error): boolean {
  return (error as unknown as Record<symbol, unknown>)[UNDICI_PARSER_ERROR] === true || error.name === 'HTTPParserError'
}

/**
 * systemCause is the error Node's own fetch and undici would report for a
 * roundtrip failure: when the coded error wraps a system or undici error
 * (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, `UND_ERR_SOCKET`, any error
 * with a string `code` that is not one of ours, `RT_*`, or undici's
 * `HTTPParserError`, which has no code for most malformed responses and a
 * body cut short by the end of the connection; up to four causes deep),
 * that error, and under `RT_REQUEST_BODY_ERROR` (the Transport's: a request
 * body's own source failed) the reason that source failed with (a stream
 * errored, an iterable threw), as undici's `Client` and Node's fetch report
 * it; in both cases with the coded one set on it as
 * {@link ROUND_TRIP_ERROR} (when it is an object that can take it);
 * otherwise `error` itself (a coded error of our own, an abort reason, a
 * body source that failed with no reason, `controller.error(undefined)`,
 * where Node's fetch gives a `TypeError` of its own not worth copying). createFetch makes it the cause of its
 * `TypeError('fetch failed')`; `@roundtrip/undici`'s `toDispatcher` hands it
 * to the dispatch's handler.
 *
 * It never throws: a frozen (non-extensible) system error is returned
 * without {@link ROUND_TRIP_ERROR}. A system error shared by several
 * requests (an HTTP/2 session's) keeps the coded error of the first request
 * that reported it: a later one does not overwrite it.
 */
export function systemCause(error: unknown): unknown {
  if (!isRoundTripError(error)) return error
  let inner = error.cause
  if (error.code === REQUEST_BODY_ERROR) {
    // The caller's request body failed: its source's own reason is what undici and Node's fetch report (a primitive cannot carry ours).
    if (inner === undefined || isRoundTripError(inner)) return error
    return typeof inner === 'object' && inner !== null ? withRoundTripError(inner, error) : inner
  }
  for (let depth = 0; depth < 4 && inner instanceof Error; depth++) {
    const code = (inner as { code?: unknown }).code
    if (((typeof code === 'string' && !code.startsWith('RT_')) || isParserError(inner)) && !isRoundTripError(inner)) {
      return withRoundTripError(inner, error)
    }
    inner = inner.cause
  }
  return error
}

/** Error code: the response was garbage-collected while its body was still open (see `BodyOutcome`). */
export const ERR_BODY_COLLECTED = 'RT_BODY_COLLECTED'
/** Error code: `observeBody` was given a response whose body is already locked or used. */
export const ERR_BODY_USED = 'RT_BODY_USED'
/** Error code: a status that a WHATWG `Response` cannot represent (outside 200–599). */
export const ERR_INVALID_STATUS = 'RT_INVALID_STATUS'
/** Error code: a response whose parts contradict each other (a body on a null-body status). */
export const ERR_INVALID_RESPONSE = 'RT_INVALID_RESPONSE'
/** Error code: a middleware broke the RoundTripper contract (see the message for which one). */
export const ERR_INVALID_MIDDLEWARE = 'RT_INVALID_MIDDLEWARE'

/**
 * internalError builds the error thrown when one of our own invariants does
 * not hold. It is a bug in roundtrip: never swallow it.
 */
export function internalError(what: string): Error {
  return new Error(`internal error: ${what}`)
}
