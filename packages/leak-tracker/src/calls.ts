import { derivedFrom } from '@roundtrip/core'
import { BodyList, type Tracked } from './tracked.js'

/** Past how many calls in flight a lookup makes {@link CallsInFlight} index its calls by request. */
export const INDEX_CALLS_FROM = 32
/** At how many calls in flight the index is dropped: half the threshold, so that a load around it does not build and drop it over and over. */
export const UNINDEX_CALLS_AT = INDEX_CALLS_FROM / 2

/**
 * CallsInFlight holds a tracker's calls made and not settled yet, to find
 * the one a Transport's `queued` or `dequeued` message names. A list costs
 * a call nothing to join and leave, a map a hash each way: the calls are
 * indexed by request only once a lookup finds more than
 * {@link INDEX_CALLS_FROM} of them in flight (requests queue under load),
 * and the index is dropped once they fall to {@link UNINDEX_CALLS_AT}.
 */
export class CallsInFlight {
  #list = new BodyList()
  #byRequest: Map<Request, Tracked> | undefined = undefined
  /**
   * Two calls in flight went out with the same Request while indexed: the
   * index keeps the newer, so a miss looks through the list too (until the
   * index is dropped).
   */
  #shared = false

  /** Whether the calls are indexed by request (for tests). */
  get indexed(): boolean {
    return this.#byRequest !== undefined
  }

  get size(): number {
    return this.#list.size
  }

  /** The call of `tracked` started (`tracked.call` is its request). */
  add(tracked: Tracked): void {
    this.#list.add(tracked)
    if (this.#byRequest !== undefined) this.#index(this.#byRequest, tracked)
  }

  /** The call of `tracked` settled. */
  delete(tracked: Tracked): void {
    this.#list.delete(tracked)
    const byRequest = this.#byRequest
    if (byRequest === undefined) return
    if (byRequest.get(tracked.call!) === tracked) byRequest.delete(tracked.call!)
    if (this.#list.size <= UNINDEX_CALLS_AT) {
      this.#byRequest = undefined
      this.#shared = false
    }
  }

  /**
   * The call in flight with `request`, or with the request it was derived
   * from (core's `derivedFrom`: a layer below the tracker built it with
   * `deriveRequest`, a retry's next attempt, a redirect hop), if one is.
   */
  of(request: Request): Tracked | undefined {
    for (let r: Request | undefined = request; r !== undefined; r = derivedFrom(r)) {
      const call = this.#exact(r)
      if (call !== undefined) return call
    }
    return undefined
  }

  #exact(request: Request): Tracked | undefined {
    let byRequest = this.#byRequest
    if (byRequest === undefined) {
      if (this.#list.size <= INDEX_CALLS_FROM) return this.#scan(request)
      byRequest = this.#byRequest = new Map()
      for (let call = this.#list.first; call !== undefined; call = call.next) this.#index(byRequest, call)
    }
    return byRequest.get(request) ?? (this.#shared ? this.#scan(request) : undefined)
  }

  clear(): void {
    this.#list.clear()
    this.#byRequest = undefined
    this.#shared = false
  }

  #index(byRequest: Map<Request, Tracked>, call: Tracked): void {
    if (byRequest.has(call.call!)) this.#shared = true
    byRequest.set(call.call!, call)
  }

  #scan(request: Request): Tracked | undefined {
    for (let call = this.#list.first; call !== undefined; call = call.next) if (call.call === request) return call
    return undefined
  }
}
