import { RoundTripResponse, whenBodySettles } from '@roundtrip/core'

// Node's own, as undici's fetch calls it (an extension of Node's, not a web API).
const markResourceTiming = (
  performance as unknown as {
    markResourceTiming(timingInfo: object, requestedUrl: string, initiatorType: string, global: object, cacheMode: string, bodyInfo: object, responseStatus: number, deliveryType: string): unknown
  }
).markResourceTiming.bind(performance)

// Node's entry reads only a content type and encoding from the body info; ours has neither.
const NO_BODY_INFO = Object.freeze({})

/**
 * FetchTiming is the fetch standard's timing info of one fetch, as createFetch
 * fills it in on its way (times from `performance.now()`), and reports it as
 * Node's and undici 7's fetch do: a `PerformanceResourceTiming` entry
 * (`performance.getEntriesByType('resource')`) named by the first URL, added
 * when the final response's body settles — read to its end, cancelled,
 * aborted or failed (at once for a null body) — with the bytes that arrived
 * (`encodedBodySize`) and were read (`decodedBodySize`); an entry without
 * request and response times for a fetch that failed as a network error;
 * none for an aborted fetch or a body dropped unread. As with Node's fetch,
 * connection times equal `fetchStart`.
 */
export class FetchTiming {
  readonly startTime = performance.now()
  /** The first request's URL, the entry's name. */
  readonly url: string
  redirectStartTime = 0
  redirectEndTime = 0
  postRedirectStartTime = this.startTime
  readonly finalServiceWorkerStartTime = 0
  finalNetworkRequestStartTime = 0
  finalNetworkResponseStartTime = 0
  endTime = 0
  encodedBodySize = 0
  decodedBodySize = 0
  /**
   * The connection's times (this object's getters: all `postRedirectStartTime`,
   * as with Node's fetch); null for a fetch that failed before a response.
   * Node's entry reads the timing info it is given whenever a getter is
   * called, so this object is that info: no copy is made per entry.
   */
  finalConnectionTimingInfo: FetchTiming | null = this

  constructor(url: string) {
    this.url = url
  }

  get domainLookupStartTime(): number {
    return this.postRedirectStartTime
  }

  get domainLookupEndTime(): number {
    return this.postRedirectStartTime
  }

  get connectionStartTime(): number {
    return this.postRedirectStartTime
  }

  get connectionEndTime(): number {
    return this.postRedirectStartTime
  }

  get secureConnectionStartTime(): number {
    return this.postRedirectStartTime
  }

  /** A hop is sent. */
  requestStart(): void {
    this.finalNetworkRequestStartTime = performance.now()
  }

  /** A hop's response head arrived. */
  responseStart(): void {
    this.finalNetworkResponseStartTime = performance.now()
  }

  /** A redirect is followed: the next hop starts. */
  redirect(): void {
    if (this.redirectStartTime === 0) this.redirectStartTime = this.startTime
    this.redirectEndTime = this.postRedirectStartTime = performance.now()
  }

  /**
   * report adds the entry once the body of the final `response` settles.
   * Only responses made by a roundtrip RoundTripper are reported: another
   * fetch underneath (`fromFetch`) adds its own entries.
   */
  report(response: Response): Response {
    // The callback holds the status, not the response: the body's producer
    // holds it, and a dropped response must still be collected.
    const status = response.status
    const tracked = whenBodySettles(response, (settled) => {
      if (settled.outcome !== 'collected') this.#mark(status, settled.encodedBytes, settled.decodedBytes)
    })
    if (!tracked && response instanceof RoundTripResponse && response.body === null) this.#mark(status, 0, 0)
    return response
  }

  /**
   * The fetch failed as a network error (not an abort): an entry with status
   * 0, without request or response times when no response came (`connected`
   * false), with the last hop's when a redirect could not be followed.
   */
  fail(connected: boolean): void {
    if (!connected) {
      this.finalNetworkRequestStartTime = this.finalNetworkResponseStartTime = 0
      this.finalConnectionTimingInfo = null
    }
    this.#mark(0, 0, 0)
  }

  /** Adds the entry, once per fetch: this object is its timing info, and is not changed afterwards. */
  #mark(status: number, encodedBodySize: number, decodedBodySize: number): void {
    this.endTime = performance.now()
    this.encodedBodySize = encodedBodySize
    this.decodedBodySize = decodedBodySize
    markResourceTiming(this, this.url, 'fetch', globalThis, '', NO_BODY_INFO, status, '')
  }
}
