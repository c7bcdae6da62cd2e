import { callSignal, declareRejectsOnAbort, kRejectsOnAbort, kResolvesResponse, observeBody, rejectsOnAbort, tryRoundTrip, type Middleware, type RoundTripper } from '@roundtrip/core'
import { checkCount, invalidOption } from '../errors.js'

/** Options for {@link concurrencyLimit}; give at least one. */
export interface ConcurrencyLimitOptions {
  /** Requests in flight at once, over all hosts. Undefined = no overall limit. */
  max?: number
  /** Requests in flight at once per origin (scheme, host and port). Undefined = no per-host limit. */
  perHost?: number
}

interface Waiter {
  host: string
  admit(): void
}

/**
 * concurrencyLimit is a middleware that lets at most `max` requests (and
 * `perHost` per origin) be in flight at once; the others wait in one FIFO
 * queue. A request is in flight from the call until its response body
 * settles (read to the end, cancelled, failed or garbage-collected unread)
 * or the call fails, so an unread body keeps its slot, as it keeps its
 * connection. When a slot frees, the oldest waiting request that fits is
 * let through: a request for a busy host does not hold up one for another
 * host behind it. A waiting request whose signal aborts (or the deadline of
 * a `timeout()` above: core's `callSignal`) leaves the queue at once and
 * rejects with the signal's reason.
 *
 * @throws RoundTripError `RT_INVALID_OPTION` when neither limit is given or one is not a positive integer.
 *
 * @example
 * ```ts
 * const client = compose(new Transport(), concurrencyLimit({ max: 32, perHost: 4 }))
 * ```
 */
export function concurrencyLimit(options: ConcurrencyLimitOptions): Middleware {
  const max = checkCount('concurrencyLimit', 'max', options?.max, Infinity, true)
  const perHost = checkCount('concurrencyLimit', 'perHost', options?.perHost, Infinity, true)
  if (max === Infinity && perHost === Infinity) throw invalidOption('concurrencyLimit', 'give max, perHost or both')
  return function concurrencyLimitLayer(next) {
    return new Limiter(next, max, perHost)
  }
}

class Limiter implements RoundTripper {
  /** It resolves only with the Response of the layer below (core's kResolvesResponse): chain() does not check it again. A getter: a spread copy does not inherit it. */
  get [kResolvesResponse](): true {
    return true
  }
  /** A queued request leaves at once when the call's signal aborts: it rejects on abort as promptly as the layer below. Declared non-enumerable in the constructor. */
  declare readonly [kRejectsOnAbort]: boolean
  readonly #next: RoundTripper
  readonly #max: number
  readonly #perHost: number
  #active = 0
  readonly #activeByHost = new Map<string, number>()
  readonly #queue: Waiter[] = []

  constructor(next: RoundTripper, max: number, perHost: number) {
    this.#next = next
    declareRejectsOnAbort(this, rejectsOnAbort(next))
    this.#max = max
    this.#perHost = perHost
  }

  roundTrip(request: Request): Promise<Response> {
    const host = this.#perHost === Infinity ? '' : originOf(request.url)
    // No waiter fits at any time (#release lets every one that fits go), so one that fits now overtakes nobody.
    if (this.#fits(host)) return this.#send(request, host)
    // The caller's abort, or a deadline of a timeout() above.
    const signal = callSignal(request)
    if (signal.aborted) return Promise.reject(signal.reason)
    return new Promise<Response>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#queue.indexOf(waiter)
        if (i >= 0) this.#queue.splice(i, 1)
        reject(signal.reason)
      }
      // Closures in locals, not literal members of the waiter (see transport's no-pretenured-closures test).
      const admit = (): void => {
        signal.removeEventListener('abort', onAbort)
        resolve(this.#send(request, host))
      }
      const waiter: Waiter = { host, admit }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#queue.push(waiter)
    })
  }

  #fits(host: string): boolean {
    return this.#active < this.#max && (this.#activeByHost.get(host) ?? 0) < this.#perHost
  }

  #send(request: Request, host: string): Promise<Response> {
    this.#active++
    this.#activeByHost.set(host, (this.#activeByHost.get(host) ?? 0) + 1)
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      this.#release(host)
    }
    return tryRoundTrip(this.#next, request).then(
      (response) => observeBody(response, release),
      (error: unknown) => {
        release()
        throw error
      },
    )
  }

  #release(host: string): void {
    this.#active--
    const left = this.#activeByHost.get(host)! - 1
    if (left === 0) this.#activeByHost.delete(host)
    else this.#activeByHost.set(host, left)
    // The oldest waiter that fits goes first; one for a full host does not block the others.
    for (let i = 0; i < this.#queue.length && this.#active < this.#max; ) {
      const waiter = this.#queue[i]!
      if (this.#fits(waiter.host)) {
        this.#queue.splice(i, 1)
        waiter.admit()
      } else i++
    }
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}
