import {
  abortBody,
  attachHooks,
  CallAbortController,
  callSignal,
  detachHooks,
  discardResponse,
  getContext,
  observeBody,
  rejectsOnAbort,
  tryRoundTrip,
  type BodyListener,
  type CallSignal,
  type Middleware,
  type RoundTripper,
} from '@roundtrip/core'
import { layer } from '../layer.js'
import { DeadlineQueue, type QueuedDeadline } from './deadline-queue.js'
import '../context.js'
import { checkDuration, invalidOption } from '../errors.js'

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
 * timeoutError builds the error a deadline rejects with: the one
 * `AbortSignal.timeout(ms)` aborts with, a `DOMException` named
 * `TimeoutError` with Node's message.
 */
export function timeoutError(): DOMException {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError')
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
    return layer((request) => {
      const limit = getContext(request).timeout ?? fallback
      if (!(limit > 0) || !Number.isFinite(limit)) return tryRoundTrip(next, request)
      const outer = callSignal(request)
      if (outer.aborted) return Promise.reject(outer.reason)
      if (prompt) return new Deadline(outer, includeBody, undefined, undefined).run(next, request, queues.get(limit))
      const promise = new Promise<Response>(capture)
      new Deadline(outer, includeBody, captured.resolve!, captured.reject!).run(next, request, queues.get(limit))
      captured.resolve = captured.reject = undefined
      return promise
    }, next)
  }
}

// The settle functions of the promise a call returns, handed over by capture:
// a function of the module, where an executor closing over the call would
// cost a closure and its context per call (about 100 B).
const captured: { resolve?: ((response: Response) => void) | undefined; reject?: ((error: unknown) => void) | undefined } = {}
function capture(resolve: (response: Response) => void, reject: (error: unknown) => void): void {
  captured.resolve = resolve
  captured.reject = reject
}

// Where a Deadline's call is: no response yet; the response was handed on (the body is timed); the caller has its outcome.
const WAITING = 0
const BODY = 1
const DONE = 2

/**
 * Deadline is one call under a deadline, in one object: the call's abort
 * controller (a `CallAbortController` following the caller's signal, so it
 * aborts with the caller's reason too), the hooks object attached to the
 * request for the layers below (a CallAbortController carries its own
 * signal: no derived Request, no AbortSignal), the entry of its deadline
 * queue and the listener of the response body.
 *
 * Over a layer that rejects at once when the call's signal aborts (core's
 * `kRejectsOnAbort`), the call's promise is the one its reactions to that
 * layer return: they hand on the response, or throw the deadline's error.
 * Over any other layer, the call has a promise of its own (`resolve`,
 * `reject`) which the deadline rejects when it passes, so that a layer below
 * that does not listen to the call's signal still gives the caller its
 * TimeoutError on time. Either way the body errors when the deadline passes
 * during it, and a response that comes too late is released.
 */
class Deadline extends CallAbortController implements BodyListener, QueuedDeadline {
  dueAt = 0
  queue: DeadlineQueue | undefined = undefined
  queuePrev: QueuedDeadline | undefined = undefined
  queueNext: QueuedDeadline | undefined = undefined
  readonly #includeBody: boolean
  /** The call's own promise's settle functions; undefined when the call's promise is the reactions' (the layer below rejects at once on abort). */
  readonly #resolve: ((response: Response) => void) | undefined
  readonly #reject: ((error: unknown) => void) | undefined
  #stage: typeof WAITING | typeof BODY | typeof DONE = WAITING
  /** The request the hooks are attached to, until they come off. */
  #request: Request | undefined
  /** The response handed on, while its body is timed. */
  #response: Response | undefined

  constructor(
    outer: CallSignal,
    includeBody: boolean,
    resolve: ((response: Response) => void) | undefined,
    reject: ((error: unknown) => void) | undefined,
  ) {
    super(outer)
    this.#includeBody = includeBody
    this.#resolve = resolve
    this.#reject = reject
  }

  /** Starts the call; its promise is the caller's when the deadline has no promise of its own. */
  run(next: RoundTripper, request: Request, queue: DeadlineQueue): Promise<Response> {
    queue.add(this)
    this.#request = request
    attachHooks(request, this)
    // Bound methods, not arrow functions: no context object on top of the two functions.
    return tryRoundTrip(next, request).then(this.#received.bind(this), this.#failed.bind(this))
  }

  /** The deadline passed (its queue's timer fired). */
  expire(): void {
    // Only a pending deadline expires (a settled one left its queue). Aborted
    // here means the caller's signal (our parent) was: the caller has its reason.
    if (this.aborted) return
    const reason = timeoutError()
    const stage = this.#stage
    const response = this.#response
    if (stage === WAITING) this.#stage = DONE
    // The layers below may settle the body at once (the Transport does): then abortBody finds it settled.
    // A layer below that rejects on abort rejects now; its rejection becomes the call's (#failed).
    this.abort(reason)
    if (stage !== WAITING) {
      if (response !== undefined) abortBody(response, reason)
      return
    }
    // The hooks stay on the request until the layer below settles (#failed,
    // #received): a layer that reads the call's signal after an await must
    // see it aborted, not the caller's.
    this.#reject?.(reason)
  }

  /** The body settled (read, cancelled, failed — maybe by this deadline — or collected). */
  bodySettled(): void {
    this.#response = undefined
    this.#settle()
  }

  #received(received: Response): Response {
    // Too late: the caller has (or is getting) the deadline's error; the body is ours to release.
    if (this.#stage === DONE) {
      this.#detach()
      discardResponse(received, this.reason)
      return this.#give(undefined, this.reason)
    }
    if (!this.#includeBody) {
      // The deadline covered the head only: nothing of the body is ours to watch.
      this.#settle()
      return this.#give(received, undefined)
    }
    let observed: Response
    try {
      observed = observeBody(received, this)
    } catch {
      // The layer below handed on a body already read or locked (RT_BODY_USED):
      // it cannot be watched, so the deadline covered the head only, as with
      // `includeBody: false`. The response is the caller's as it is; failing a
      // response that arrived in time would be worse.
      this.#settle()
      return this.#give(received, undefined)
    }
    this.#detach()
    this.#stage = BODY
    this.#response = observed
    return this.#give(observed, undefined)
  }

  #failed(error: unknown): Response {
    if (this.#stage !== DONE) this.#settle()
    else this.#detach()
    // Whatever the layer below made of our abort, the caller sees the deadline's error.
    return this.#give(undefined, this.aborted ? this.reason : error)
  }

  /**
   * Settles the call with `response`, or with `error` when it is undefined:
   * through the call's own promise when it has one (which the deadline may
   * have rejected already: then nothing), else as the reaction's result.
   */
  #give(response: Response | undefined, error: unknown): Response {
    const resolve = this.#resolve
    if (resolve === undefined) {
      if (response === undefined) throw error
      return response
    }
    if (response !== undefined) resolve(response)
    else this.#reject!(error)
    // The reaction's own promise is nobody's: it fulfils with nothing.
    return undefined as unknown as Response
  }

  #settle(): void {
    this.#stage = DONE
    this.#detach()
    this.queue?.remove(this)
  }

  #detach(): void {
    if (this.#request !== undefined) detachHooks(this.#request, this)
    this.#request = undefined
  }
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
