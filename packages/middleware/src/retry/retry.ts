import {
  callSignal,
  deriveRequest,
  discardResponse,
  getContext,
  getReplayableBody,
  runCallHooks,
  roundTripThen,
  tryRoundTrip,
  withReplayableBody,
  type CallSignal,
  type Middleware,
  type ReplayableBody,
  type RoundTripContinuation,
  type RoundTripper,
} from '@roundtrip/core'
import { layer } from '../layer.js'
import { RetryCall, type RetryPolicy } from './call.js'
import '../context.js'
import { checkCount, checkDuration, invalidOption } from '../errors.js'
import { RetryBudget } from './budget.js'
import { classifyFailure, retryAfterMs } from './classify.js'
import {
  DEFAULT_BACKOFF_BASE,
  DEFAULT_BACKOFF_MAX,
  DEFAULT_MAX_RETRY_AFTER,
  DEFAULT_RETRY_LIMIT,
  DEFAULT_RETRY_METHODS,
  DEFAULT_RETRY_STATUS_CODES,
  type RetryInfo,
  type RetryOptions,
} from './options.js'
import { delay as defaultSleep } from '@roundtrip/core'

const WHO = 'retry'

/**
 * retry is a middleware that sends a request again when an attempt failed
 * in a way that is worth retrying, and only when that is safe:
 *
 * - a failure before the request was sent (connection refused, failed or
 *   timed out: `RT_CONNECT_*`) is retried for any method;
 * - a failure after it may have been sent (`RT_SOCKET_CLOSED` before the
 *   response, `RT_HEADERS_TIMEOUT`, a per-attempt `timeout()` below) and a
 *   response with one of `statusCodes` (408, 429, 500, 502, 503, 504) are
 *   retried for idempotent requests only: `methods` (GET, HEAD, OPTIONS,
 *   TRACE, PUT, DELETE) or an `Idempotency-Key` header;
 * - protocol, decoding, request-body and invalid-request errors, and an
 *   abort of the caller's signal, are never retried.
 *
 * A request body is sent again only when it can be produced again: the
 * request has no body, or its body was declared with `withReplayableBody`
 * (`createFetch` does it for strings, bytes, `Blob`, `URLSearchParams` and
 * `FormData`). Otherwise the first response or error is returned as is —
 * never a retry with an empty or partial body.
 *
 * The wait before retry n is `Retry-After` when the response has one (up to
 * `maxRetryAfter`; a longer one returns the response), else exponential
 * backoff with full jitter. A {@link RetryBudget} caps retries to a share of
 * requests. Every discarded response's body is cancelled at once (not
 * awaited). An abort of the call's signal during a wait (the caller's, or a
 * `timeout()` outside this one: core's `callSignal`) rejects at once with
 * its reason.
 *
 * Put it outside `timeout()` for a deadline per attempt, inside for one
 * deadline over all attempts; see the package README for the order.
 *
 * @throws RoundTripError `RT_INVALID_OPTION` for a bad option.
 *
 * @example
 * ```ts
 * const client = compose(new Transport(), retry({ limit: 3, backoff: { base: 200, max: 5_000 } }))
 * ```
 */
export function retry(options: RetryOptions = {}): Middleware {
  const limit = checkCount(WHO, 'limit', options.limit, DEFAULT_RETRY_LIMIT)
  const methods = new Set(Array.from(options.methods ?? DEFAULT_RETRY_METHODS, (m) => String(m).toUpperCase()))
  const statusCodes = new Set(options.statusCodes ?? DEFAULT_RETRY_STATUS_CODES)
  const base = checkDuration(WHO, 'backoff.base', options.backoff?.base, DEFAULT_BACKOFF_BASE)
  const max = checkDuration(WHO, 'backoff.max', options.backoff?.max, DEFAULT_BACKOFF_MAX)
  const maxRetryAfter = checkDuration(WHO, 'maxRetryAfter', options.maxRetryAfter, DEFAULT_MAX_RETRY_AFTER)
  const budget = options.budget === false ? undefined : options.budget instanceof RetryBudget ? options.budget : new RetryBudget(options.budget)
  for (const name of ['onRetry', 'now', 'sleep', 'random'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw invalidOption(WHO, `${name} must be a function`)
  }
  const { onRetry } = options
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? defaultSleep
  const random = options.random ?? Math.random

  const policy: RetryPolicy = { statusCodes, retrying }
  return function retryLayer(next) {
    return layer(
      (request) => start(next, request, undefined),
      next,
      (request, k) => start(next, request, k),
    )
  }

  function start(next: RoundTripper, request: Request, k: RoundTripContinuation | undefined): Promise<Response> {
    budget?.deposit()
    // Read once: the getter checks the Request's brand on each read.
    const bodied = request.body !== null
    const replayable = bodied ? getReplayableBody(request) : undefined
    // A body that cannot be produced again goes out once.
    if (limit === 0 || (bodied && replayable === undefined)) {
      return k === undefined ? tryRoundTrip(next, request) : roundTripThen(next, request, k)
    }
    // The first attempt is not awaited in an async function: most calls
    // end with it (a response whose status is not retried), and go on
    // without the loop's frame and hops. One object per call is the
    // reaction to it (and hands the layer above's reaction on).
    // The call's signal is read before the first attempt: a layer above (a
    // timeout()) detaches its hooks when it gives up, and a retry decided
    // after that must still see its abort.
    return roundTripThen(next, request, new RetryCall(policy, next, request, callSignal(request), replayable, k))
  }

  /** retrying goes on from the first attempt's outcome: waits, retries, and settles with the last attempt's. */
  async function retrying(
    next: RoundTripper,
    request: Request,
    // The caller's abort, or an outer deadline (a timeout() above): ends the call, never retried.
    signal: CallSignal,
    replayable: ReplayableBody | undefined,
    first: Response | undefined,
    firstError: unknown,
  ): Promise<Response> {
    const idempotent = methods.has(request.method) || request.headers.has('idempotency-key')
    for (let attempt = 1; ; attempt++) {
      let response: Response | undefined
      let error: unknown
      if (attempt === 1) {
        response = first
        error = firstError
      } else {
        try {
          response = await next.roundTrip(nextAttempt(request, replayable, attempt))
        } catch (e) {
          error = e
        }
      }
      if (attempt > limit) return settle(response, error)
      let delay: number
      if (response === undefined) {
        const kind = classifyFailure(error, signal.aborted)
        if (kind === 'final' || (kind === 'maybe-processed' && !idempotent)) throw error
        delay = backoff(attempt)
      } else {
        if (!idempotent || !statusCodes.has(response.status)) return response
        const after = retryAfterMs(response.headers.get('retry-after'), now())
        if (after !== undefined && after > maxRetryAfter) return response
        delay = after ?? backoff(attempt)
      }
      if (budget !== undefined && !budget.tryWithdraw()) return settle(response, error)
      if (response !== undefined) discardResponse(response)
      const info: RetryInfo = { request, attempt: attempt + 1, delay, ...(response === undefined ? { error } : { status: response.status }) }
      onRetry?.(info)
      getContext(request).onRetry?.(info)
      runCallHooks(request, 'onRetry', info)
      if (signal.aborted) throw signal.reason
      if (delay > 0) await sleep(delay, signal)
    }
  }

  function backoff(retryNumber: number): number {
    const cap = Math.min(max, base * 2 ** (retryNumber - 1))
    return Math.floor(random() * cap)
  }
}

/** settle returns the last attempt's response or throws its error. */
function settle(response: Response | undefined, error: unknown): Response {
  if (response === undefined) throw error
  return response
}

/** nextAttempt builds the request of attempt `attempt`: the body produced again, the context kept. */
function nextAttempt(request: Request, replayable: ReplayableBody | undefined, attempt: number): Request {
  if (replayable === undefined) return deriveRequest(request, undefined, { attempt })
  const derived = deriveRequest(request, { body: replayable.getBody() }, { attempt })
  return withReplayableBody(derived, replayable)
}
