import { WARN_DISPATCHER } from './errors.js'

let dispatcherWarned = false

/** checkInit looks at the init members Node's fetch reads that a `Request` does not keep. */
export function checkInit(init: RequestInit): void {
  if ((init as { dispatcher?: unknown }).dispatcher !== undefined && !dispatcherWarned) {
    dispatcherWarned = true
    process.emitWarning(
      'fetch: init.dispatcher (an undici option) has no effect on @roundtrip/fetch; requests go through the RoundTripper given to createFetch. ' +
        'Set proxies, TLS and pool limits in the Transport options.',
      { type: 'RoundTripWarning', code: WARN_DISPATCHER },
    )
  }
}
