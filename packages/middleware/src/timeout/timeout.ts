import {
  abortBody,
  attachHooks,
  CallAbortController,
  callSignal,
  getContext,
  observeBody,
  roundTripper,
  tryRoundTrip,
  type CallSignal,
  type Middleware,
  type RoundTripper,
} from '@roundtrip/core'
import { discardResponse } from '../discard.js'
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
 * the connection is closed by the layer below: the deadline reaches it as
 * the call's signal (core's `callSignal(request)`, attached with
 * `attachHooks`; no derived request, no `AbortSignal` is built), which
 * `fromFetch` hands to the fetch below it. A layer below that listens
 * only to `request.signal` is not stopped, but the caller still gets the
 * `TimeoutError` on time and a response that arrives later is released.
 *
 * A request's context can set its own deadline: `withContext(request,
 * { timeout: ms })`, 0 for none. The caller's own signal (and a deadline of
 * a layer above) keeps working: its abort rejects with its reason. The timer does not keep the process alive
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
      if (!(limit > 0) || !Number.isFinite(limit)) return tryRoundTrip(next, request)
      const outer = callSignal(request)
      if (outer.aborted) return Promise.reject(outer.reason)
      return new Promise<Response>((resolve, reject) => runDeadline(next, request, outer, limit, includeBody, resolve, reject))
    })
  }
}

/**
 * runDeadline makes one call under a deadline. The deadline reaches the
 * layers below as the call's signal (core's call hooks: no derived Request,
 * no AbortSignal), and is also enforced here, so that a layer below that does
 * not listen to the call's signal still gives the caller its TimeoutError on
 * time: the call rejects, or the body errors, and a response that comes too
 * late is released.
 */
function runDeadline(
  next: RoundTripper,
  request: Request,
  outer: CallSignal,
  limit: number,
  includeBody: boolean,
  resolve: (response: Response) => void,
  reject: (error: unknown) => void,
): void {
  // Aborts with the caller's reason too (it follows `outer`).
  const controller = new CallAbortController(outer)
  // waiting: no response yet; body: the response was handed on; done: the caller has its outcome.
  let stage: 'waiting' | 'body' | 'done' = 'waiting'
  let response: Response | undefined
  let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
    timer = undefined
    if (stage === 'done' || outer.aborted) return
    const reason = timeoutError()
    controller.abort(reason)
    if (stage === 'waiting') {
      settle()
      reject(reason)
    } else abortBody(response!, reason)
  }, limit)
  timer.unref()
  const stopTimer = (): void => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  const detach = attachHooks(request, { signal: controller.signal })
  const settle = (): void => {
    stage = 'done'
    detach()
    stopTimer()
  }
  tryRoundTrip(next, request).then(
    (received) => {
      // Too late: the caller has had the deadline's error; the body is ours to release.
      if (stage === 'done') return discardResponse(received, controller.reason)
      if (!includeBody) {
        // The deadline covered the head only: nothing of the body is ours to watch.
        settle()
        return resolve(received)
      }
      detach()
      stage = 'body'
      response = observeBody(received, settle)
      resolve(response)
    },
    (error: unknown) => {
      if (stage === 'done') return
      settle()
      // Whatever the layer below made of our abort, the caller sees the deadline's error.
      reject(controller.aborted ? controller.reason : error)
    },
  )
}
