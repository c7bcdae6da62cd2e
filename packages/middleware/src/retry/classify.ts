/**
 * How a failed attempt (a rejection, no response) may be retried:
 * - `unsent`: the request never left (the connection was not made); any
 *   method may be retried;
 * - `maybe-processed`: the request may have reached the server (the
 *   connection closed before the response, a per-attempt timeout); only
 *   idempotent requests are retried;
 * - `final`: never retried (protocol and decoding errors, bad requests,
 *   request-body errors, aborts, anything unknown).
 */
export type FailureKind = 'unsent' | 'maybe-processed' | 'final'

// The Transport's codes, and the system codes of other RoundTrippers (fromFetch over Node's fetch).
const UNSENT = new Set(['RT_CONNECT_REFUSED', 'RT_CONNECT_FAILED', 'RT_CONNECT_TIMEOUT', 'ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT'])
const MAYBE_PROCESSED = new Set(['RT_SOCKET_CLOSED', 'RT_HEADERS_TIMEOUT', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT'])

/**
 * classifyFailure says how an attempt that rejected with `error` may be
 * retried. It looks at `error` and its `cause` chain (a fetch-style
 * `TypeError('fetch failed', { cause })` carries the code on its cause).
 * `callerAborted` is whether the caller's own signal aborted: then nothing
 * is retried. A `TimeoutError` from a layer below (a per-attempt
 * `timeout()`) is `maybe-processed`.
 */
export function classifyFailure(error: unknown, callerAborted: boolean): FailureKind {
  if (callerAborted) return 'final'
  let current: unknown = error
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const { code, name } = current as { code?: unknown; name?: unknown }
    if (name === 'AbortError') return 'final'
    if (name === 'TimeoutError' && current instanceof DOMException) return 'maybe-processed'
    if (typeof code === 'string') {
      if (UNSENT.has(code)) return 'unsent'
      if (MAYBE_PROCESSED.has(code)) return 'maybe-processed'
      // A coded error of ours that is not in the lists (protocol, decoding, invalid request, body): final.
      if (code.startsWith('RT_')) return 'final'
    }
    current = (current as { cause?: unknown }).cause
  }
  return 'final'
}

/**
 * retryAfterMs reads a `Retry-After` value (delay-seconds or an HTTP date,
 * RFC 9110 §10.2.3) as a wait in milliseconds from `now`, or undefined when
 * it is absent or malformed. A date in the past is 0.
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // An HTTP date starts with a day name (IMF-fixdate, RFC 850, asctime); Date.parse accepts far more.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return undefined
  const at = Date.parse(text)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}
