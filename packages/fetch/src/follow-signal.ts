import { abortBody, whenBodySettles } from '@roundtrip/core'

// One options object for every listener: Node's addEventListener reads it and keeps nothing of it.
const ONCE = Object.freeze({ once: true })

/**
 * followSignal makes an abort of `signal` that comes after the response
 * arrived reject the body's reads with the signal's reason, as the fetch
 * standard's "abort the fetch" does — also when every byte had already
 * arrived and the RoundTripper below let go of the signal (the Transport does,
 * once the connection is back in the pool). The listener sits on the
 * request's own signal, which goes with the request, holds the response
 * weakly (the RoundTripper may hold the request while the body streams, and a
 * dropped response must still be collected, its connection released), and
 * comes off when the body settles. Only requests that carry a signal of their
 * own pay for it, and only for a body core can abort (another fetch's
 * response, under `fromFetch`, follows its own signal).
 */
export function followSignal(response: Response, signal: AbortSignal): Response {
  // Not `response.body === null`: that getter would make the body's stream and
  // take text()/json() off their direct path. abortBody ignores a null or
  // settled body.
  if (signal.aborted) {
    abortBody(response, signal.reason)
    return response
  }
  const ref = new WeakRef(response)
  const onAbort = (): void => {
    const live = ref.deref()
    if (live !== undefined) abortBody(live, signal.reason)
  }
  let settled = false
  const tracked = whenBodySettles(response, () => {
    settled = true
    signal.removeEventListener('abort', onAbort)
  })
  if (tracked && !settled) signal.addEventListener('abort', onAbort, ONCE)
  return response
}
