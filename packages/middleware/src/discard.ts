import { abortBody } from '@roundtrip/core'

/**
 * discardResponse releases the body of a response nobody will read (a
 * retried attempt, a response that came after the deadline): at once, never
 * awaited (awaiting `cancel()` on a tee'd clone can hang). A tracked body
 * (the Transport's) is cancelled without making a stream for it.
 */
export function discardResponse(response: Response, reason?: unknown): void {
  if (!abortBody(response, reason)) response.body?.cancel(reason).catch(ignore)
}

function ignore(): void {}
