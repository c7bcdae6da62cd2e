/** DEFAULT_MAX_STACKS_PER_SECOND is the default `maxStacksPerSecond`: how many requests a second have their stack recorded. */
export const DEFAULT_MAX_STACKS_PER_SECOND = 100
/** How many endpoints a sampler keeps recording every request of. */
const MAX_WATCHED = 1000

/** The endpoint of a request, for sampling: method and URL without query or fragment. */
function endpointOf(method: string, url: string): string {
  const end = url.search(/[?#]/)
  return `${method} ${end === -1 ? url : url.slice(0, end)}`
}

/**
 * StackSampler decides which requests have their stack recorded. Recording
 * one costs a few microseconds (V8's capture), so past `perSecond` requests in
 * a second the rest are not recorded, except those to an endpoint (method and
 * URL without query) where a body leaked unrecorded: from then on every
 * request to it is, until a leak there is reported with its line. At low
 * rates (development, tests) every request is recorded.
 */
export class StackSampler {
  #perSecond: number
  #windowStart = -Infinity
  #used = 0
  #watched = new Set<string>()

  constructor(perSecond: number) {
    this.#perSecond = perSecond
  }

  /** Whether to record the stack of this request. */
  wants(method: string, url: string): boolean {
    if (this.#perSecond === Infinity) return true
    const now = performance.now()
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now
      this.#used = 0
    }
    if (this.#used < this.#perSecond) {
      this.#used++
      return true
    }
    return this.#watched.size > 0 && this.#watched.has(endpointOf(method, url))
  }

  /** A body leaked: watch its endpoint if its stack was not recorded, stop watching once one was. */
  leaked(method: string, url: string, recorded: boolean): void {
    if (this.#perSecond === Infinity) return
    const endpoint = endpointOf(method, url)
    if (recorded) this.#watched.delete(endpoint)
    else if (this.#watched.size < MAX_WATCHED) this.#watched.add(endpoint)
  }
}
