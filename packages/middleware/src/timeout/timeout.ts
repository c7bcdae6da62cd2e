import { deriveRequest, getContext, observeBody, roundTripper, type Middleware } from '@roundtrip/core'
import '../context.js'
import { checkDuration, invalidOption } from '../errors.js'

/** Options for {@link timeout}. */
export interface TimeoutOptions {
  /**
   * Whether the deadline also covers reading the response body (Go's
   * `Client.Timeout`): when it passes mid-body, the body errors with the
   * `TimeoutError`. Default true. `false`: the deadline ends when the
   * response head arrives.
   */
  includeBody?: boolean
}

/**
 * timeoutError builds the error a deadline rejects with: the one
 * `AbortSignal.timeout(ms)` aborts with, a `DOMException` named
 * `TimeoutError` with Node's message.
 */
export function timeoutError(): DOMException {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError')
}

/**
 * timeout is a middleware that gives each request one deadline of `ms`
 * milliseconds, from the call to the end of the response body (or to the
 * response head with `includeBody: false`). When it passes, the call
 * rejects — or the body read errors — with a `DOMException` named
 * `TimeoutError`, what `AbortSignal.timeout(ms)` gives Node's fetch, and
 * the connection is closed by the layer below (the request's signal is
 * aborted with that error).
 *
 * A request's context can set its own deadline: `withContext(request,
 * { timeout: ms })`, 0 for none. The caller's own signal keeps working: its
 * abort rejects with its reason. The timer does not keep the process alive
 * and is cleared as soon as the body settles.
 *
 * Outside `retry()` it bounds all attempts and waits together; inside it,
 * each attempt (a per-attempt `TimeoutError` is retried for idempotent
 * requests).
 *
 * @throws RoundTripError `RT_INVALID_OPTION` when `ms` is not a non-negative number.
 *
 * @example
 * ```ts
 * const client = compose(new Transport(), timeout(5_000))
 * await client.roundTrip(withContext(new Request(url), { timeout: 500 })) // this one: 500 ms
 * ```
 */
export function timeout(ms: number, options: TimeoutOptions = {}): Middleware {
  if (ms === undefined) throw invalidOption('timeout', 'ms is required (milliseconds; 0 = no deadline)')
  const fallback = checkDuration('timeout', 'ms', ms, 0)
  const includeBody = options.includeBody ?? true
  if (typeof includeBody !== 'boolean') throw invalidOption('timeout', 'includeBody must be a boolean')
  return function timeoutLayer(next) {
    return roundTripper((request) => {
      const limit = getContext(request).timeout ?? fallback
      if (!(limit > 0) || !Number.isFinite(limit)) return next.roundTrip(request)
      const caller = request.signal
      if (caller.aborted) return Promise.reject(caller.reason)
      const controller = new AbortController()
      const onCallerAbort = (): void => controller.abort(caller.reason)
      caller.addEventListener('abort', onCallerAbort, { once: true })
      let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
        timer = undefined
        controller.abort(timeoutError())
      }, limit)
      timer.unref()
      const stopTimer = (): void => {
        if (timer !== undefined) clearTimeout(timer)
        timer = undefined
      }
      const release = (): void => {
        stopTimer()
        caller.removeEventListener('abort', onCallerAbort)
      }
      let sent: Promise<Response>
      try {
        sent = next.roundTrip(deriveRequest(request, { signal: controller.signal }))
      } catch (error) {
        sent = Promise.reject(error)
      }
      return sent.then(
        (response) => {
          if (!includeBody) stopTimer()
          // The caller's abort still has to reach the body below, so the listener stays until it settles.
          if (response.body === null) {
            release()
            return response
          }
          return observeBody(response, release)
        },
        (error: unknown) => {
          release()
          // Whatever the layer below made of our abort, the caller sees the deadline's error.
          if (controller.signal.aborted && !caller.aborted) throw controller.signal.reason
          throw error
        },
      )
    })
  }
}
