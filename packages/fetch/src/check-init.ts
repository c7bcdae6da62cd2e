import { WARN_DISPATCHER } from './errors.js'

/**
 * InitChecks looks at the init members Node's fetch reads that a `Request`
 * does not keep, for one fetch function: its warnings are given once per
 * fetch function, not per process, so that no state outlives the function
 * (and one library's fetch does not silence another's).
 */
export class InitChecks {
  #dispatcherWarned = false

  check(init: RequestInit): void {
    if ((init as { dispatcher?: unknown }).dispatcher === undefined || this.#dispatcherWarned) return
    this.#dispatcherWarned = true
    process.emitWarning(
      'fetch: init.dispatcher (an undici option) has no effect on @roundtrip/fetch; requests go through the RoundTripper given to createFetch. ' +
        'Set proxies, TLS and pool limits in the Transport options.',
      { type: 'RoundTripWarning', code: WARN_DISPATCHER },
    )
  }
}
