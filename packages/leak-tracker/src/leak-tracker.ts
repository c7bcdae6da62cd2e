import type { Middleware } from '@roundtrip/core'
import type { Leak } from './leak.js'
import type { LeakTrackerOptions } from './options.js'
import { Tracker, type LeakSummary } from './tracker.js'

/**
 * LeakTracker is a {@link Middleware} that tracks every response body until
 * it is read to the end or cancelled, plus the methods to inspect and stop it.
 * Use it as any middleware: `compose(transport, tracker)` or `tracker(next)`.
 */
export interface LeakTracker extends Middleware {
  /**
   * The responses whose bodies are open right now, oldest first, each as a
   * {@link Leak} of kind `open` (which it is, unless someone is reading it).
   */
  outstanding(): Leak[]
  /**
   * Counts: bodies open now (and how many hold a connection), leaks found
   * since the tracker was made by what they held, bodies reclaimed, and
   * leaks not reported (memory-only ones under the default `report`).
   */
  summary(): LeakSummary
  /**
   * Throws a {@link LeakError} (code `RT_LEAKED_BODY`) listing every body
   * open right now and every leak found since the last call (garbage-collected
   * or reclaimed bodies). The bodies it lists are no longer tracked, so a leak
   * fails one test, not every later one. Does nothing when there are none.
   */
  assertNoLeaks(): void
  /**
   * Stops tracking: clears the `maxAge` timer, removes the exit listener and
   * forgets every open body. Responses made afterwards pass through untracked.
   */
  dispose(): void
  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void
}

/**
 * leakTracker makes a {@link LeakTracker}: middleware that tracks every
 * response body passing through it until it is read to the end or cancelled,
 * by any API, and reports the ones that are not:
 *
 * - when the response is garbage-collected with its body open (`collected`);
 * - when a body stays open longer than `maxAge` ms (`aged`), and with
 *   `reclaim`, cancels it to free its connection;
 * - on demand: `outstanding()`, `assertNoLeaks()` (for tests);
 * - at process exit, with `reportOnExit`.
 *
 * Each report says what leaked (method, URL without credentials, status),
 * where it was requested (a stack, see `captureStack`) and how to fix it. By
 * default it is a process warning with code `RT_LEAKED_BODY`.
 *
 * The tracker never changes a response's status, headers, `url`,
 * `redirected` or body bytes; a response without a body (HEAD, 204, 304) is
 * never a leak. Place it outermost, so that the stack it records starts in
 * your code and what it sees is what your code receives.
 *
 * The RoundTripper it returns forwards `closeIdleConnections()`, `close()` and
 * `Symbol.asyncDispose` to the one it wraps.
 *
 * @throws RangeError when `maxAge` is negative or not finite, or `reclaim`
 * is set without `maxAge`; TypeError when `onLeak` is not a function or
 * `captureStack` not one of its values.
 *
 * @example
 * ```ts
 * const tracker = leakTracker({ maxAge: 60_000, reclaim: true })
 * const client = compose(new Transport(), tracker)
 * const response = await client.roundTrip(new Request('http://127.0.0.1:8080/'))
 * await response.body?.cancel() // or read it: either way, no leak
 * ```
 */
export function leakTracker(options: LeakTrackerOptions = {}): LeakTracker {
  const tracker = new Tracker(options)
  const middleware: Middleware = (next) => tracker.wrap(next)
  const dispose = (): void => tracker.dispose()
  return Object.assign(middleware, {
    outstanding: () => tracker.outstanding(),
    summary: () => tracker.summary(),
    assertNoLeaks: () => tracker.assertNoLeaks(),
    dispose,
    [Symbol.dispose]: dispose,
  })
}
