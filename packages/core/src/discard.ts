import { abortBody } from './body.js'
import { trackedSourceOf } from './response.js'

/**
 * discardResponse releases the body of a response nobody will read (a
 * retried attempt, a response that came after a deadline or an abort, an
 * intermediate redirect): at once, and never awaited, since awaiting
 * `cancel()` on a tee'd clone can hang (ky#803). A tracked body (the
 * Transport's) is cancelled without making a stream for it, even while a
 * reader holds it; another body's stream is cancelled and a rejection of
 * that cancel is ignored. A response without a body, or whose body is
 * already read or locked, is left as it is. `reason` is what a pending read
 * rejects with (a `cancel` with no reason by default).
 *
 * @example
 * ```ts
 * if (shouldRetry(response)) discardResponse(response) // then send the next attempt
 * ```
 */
export function discardResponse(response: Response, reason?: unknown): void {
  // A tracked body that already settled is left alone, without making its stream.
  if (trackedSourceOf(response) !== undefined) {
    abortBody(response, reason)
    return
  }
  const stream = response.body
  if (stream === null || stream.locked) return
  stream.cancel(reason).catch(ignore)
}

function ignore(): void {}
