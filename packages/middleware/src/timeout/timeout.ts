import { callSignal, getContext, reactWith, rejectsOnAbort, roundTripThen, tryRoundTrip, type Middleware, type RoundTripContinuation } from '@roundtrip/core'
import { layer } from '../layer.js'
import { Deadline, OwnPromise } from './deadline.js'
import { DeadlineQueue } from './deadline-queue.js'
import '../context.js'
import { checkDuration, invalidOption } from '../errors.js'

export { timeoutError } from './deadline.js'

/** Options for {@link timeout}. */
export interface TimeoutOptions {
  /**
   * Whether the deadline also covers reading the response body (Go's
   * `Client.Timeout`): when it passes mid-body, the body errors with the
   * `TimeoutError`. Default true. `false`: the deadline ends when the
   * response head arrives. It ends there too for a response whose body the
   * layer below handed on already read or locked: such a body cannot be
   * watched, and the response is handed on as it is.
   */
  includeBody?: boolean
}

/**
 * timeout is a middleware that gives each request one deadline of `ms`
 * milliseconds, from the call to the end of the response body (or to the
 * response head with `includeBody: false`). When it passes, the call
 * rejects — or the body read errors — with a `DOMException` named
 * `TimeoutError`, what `AbortSignal.timeout(ms)` gives Node's fetch, and
 * the connection is closed by the layer below: the deadline reaches it as
 * the call's signal (core's `callSignal(request)`, attached with
 * `attachHooks`; no derived request, no `AbortSignal` is built), which
 * `fromFetch` hands to the fetch below it. A layer below that listens
 * only to `request.signal` is not stopped, but the caller still gets the
 * `TimeoutError` on time and a response that arrives later is released.
 *
 * A request's context can set its own deadline: `withContext(request,
 * { timeout: ms })`, 0 for none. The caller's own signal (and a deadline of
 * a layer above) keeps working: its abort rejects with its reason. The
 * calls of one layer whose deadlines have the same duration share one timer
 * (they come due in the order they started); it does not keep the process
 * alive and is cleared as soon as none of them is pending.
 *
 * Outside `retry()` it bounds all attempts and waits together; inside it,
 * each attempt (a per-attempt `TimeoutError` is retried for idempotent
 * requests).
 *
 * @throws RoundTripError `RT_INVALID_OPTION` when `ms` is not a non-negative number.
 *
 * @example
 * ```ts
 * const client = compose(new Transport(), timeout(5_000))
 * await client.roundTrip(withContext(new Request(url), { timeout: 500 })) // this one: 500 ms
 * ```
 */
export function timeout(ms: number, options: TimeoutOptions = {}): Middleware {
  if (ms === undefined) throw invalidOption('timeout', 'ms is required (milliseconds; 0 = no deadline)')
  const fallback = checkDuration('timeout', 'ms', ms, 0)
  const includeBody = options.includeBody ?? true
  if (typeof includeBody !== 'boolean') throw invalidOption('timeout', 'includeBody must be a boolean')
  return function timeoutLayer(next) {
    // The deadlines of one duration share a queue and its one timer (see deadline-queue.ts).
    const queues = new DeadlineQueues(fallback)
    // The layer below rejects at once when the call's signal (our deadline) aborts (core's
    // kRejectsOnAbort, the Transport's): its rejection is ours, on time, and the call needs
    // no promise of its own. Otherwise the deadline rejects the call itself.
    const prompt = rejectsOnAbort(next)
    const start = (request: Request, k: RoundTripContinuation | undefined): Promise<Response> => {
      const limit = getContext(request).timeout ?? fallback
      if (!(limit > 0) || !Number.isFinite(limit)) return k === undefined ? tryRoundTrip(next, request) : roundTripThen(next, request, k)
      const outer = callSignal(request)
      if (outer.aborted) return reactWith(Promise.reject(outer.reason), k)
      if (prompt) return new Deadline(outer, includeBody, k).run(next, request, queues.get(limit))
      const promise = new Promise<Response>(capture)
      new Deadline(outer, includeBody, captured.k!).run(next, request, queues.get(limit))
      captured.k = undefined
      return promise
    }
    // A layer above may hand its reaction down (core's kRoundTripThen) when the deadline's
    // promise is the reactions' (prompt); with a promise of its own, a `.then` applies it.
    return layer((request) => start(request, undefined), next, prompt ? start : undefined)
  }
}

// The settle functions of the promise a call returns, handed over by capture
// as a continuation (the call's reactions settle it): a function of the
// module, where an executor closing over the call would cost a closure and
// its context per call (about 100 B).
const captured: { k?: OwnPromise | undefined } = {}
function capture(resolve: (response: Response) => void, reject: (error: unknown) => void): void {
  captured.k = new OwnPromise(resolve, reject)
}

/** The deadline queues of one timeout() layer: the fallback's for good, others while they have deadlines pending. */
class DeadlineQueues {
  readonly #fallback: DeadlineQueue
  readonly #others = new Map<number, DeadlineQueue>()
  readonly #drop = (queue: DeadlineQueue): void => {
    this.#others.delete(queue.ms)
  }

  constructor(fallback: number) {
    this.#fallback = new DeadlineQueue(fallback)
  }

  get(ms: number): DeadlineQueue {
    if (ms === this.#fallback.ms) return this.#fallback
    let queue = this.#others.get(ms)
    if (queue === undefined) this.#others.set(ms, (queue = new DeadlineQueue(ms, this.#drop)))
    return queue
  }
}
