import {
  abortBody,
  attachHooks,
  CallAbortController,
  detachHooks,
  discardResponse,
  neverAborted,
  observeBody,
  roundTripThen,
  type BodyListener,
  type CallSignal,
  type RoundTripContinuation,
  type RoundTripper,
} from '@roundtrip/core'
import type { DeadlineQueue, QueuedDeadline } from './deadline-queue.js'

/**
 * timeoutError builds the error a deadline rejects with: the one
 * `AbortSignal.timeout(ms)` aborts with, a `DOMException` named
 * `TimeoutError` with Node's message.
 */
export function timeoutError(): DOMException {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError')
}

/**
 * OwnPromise is the continuation that settles a call's own promise (over a
 * layer below that does not reject at once on abort): its reactions resolve
 * or reject it, and so may the deadline.
 */
export class OwnPromise implements RoundTripContinuation {
  // They return nothing: the promise of the reactions that call them is nobody's.
  readonly received: (response: Response) => Response
  readonly failed: (error: unknown) => Response

  constructor(resolve: (response: Response) => void, reject: (error: unknown) => void) {
    this.received = resolve as (response: Response) => Response
    this.failed = reject as (error: unknown) => Response
  }
}

// The call's state, one small integer: where it is (no response yet; the
// response was handed on and its body is timed; the caller has its outcome),
// whether the deadline covers the body, and whether the call has a promise
// of its own (the continuation is an OwnPromise, which the deadline rejects).
const WAITING = 0
const BODY = 1
const DONE = 2
const STAGE = 3
const INCLUDE_BODY = 4
const OWN_PROMISE = 8

/**
 * Deadline is one call under a deadline, in one object: the call's abort
 * controller (a `CallAbortController` following the caller's signal, so it
 * aborts with the caller's reason too), the hooks object attached to the
 * request for the layers below (a CallAbortController carries its own
 * signal: no derived Request, no AbortSignal), the entry of its deadline
 * queue, the reaction to the layer below (core's `roundTripThen`: no
 * functions per call) and the listener of the response body.
 *
 * Over a layer that rejects at once when the call's signal aborts (core's
 * `kRejectsOnAbort`), the call's promise is the one its reactions to that
 * layer return: they hand on the response, or throw the deadline's error —
 * to the reaction of the layer above (`k`) when it handed it down. Over any
 * other layer, the call has a promise of its own (`k` an {@link OwnPromise})
 * which the deadline rejects when it passes, and the caller's signal when
 * it aborts first, so that a layer below that does not listen to the call's
 * signal still gives the caller its TimeoutError, or its own reason, on time. Either way the body errors when the deadline passes during it,
 * and a response that comes too late is released.
 */
export class Deadline extends CallAbortController implements BodyListener, QueuedDeadline, RoundTripContinuation {
  dueAt = 0
  queue: DeadlineQueue | undefined = undefined
  queuePrev: QueuedDeadline | undefined = undefined
  queueNext: QueuedDeadline | undefined = undefined
  /** Where the call is, and how it is timed (see WAITING … OWN_PROMISE). */
  #state: number
  /**
   * The reaction of the layer above, or the call's own promise (OWN_PROMISE); undefined: the call's
   * promise is the reactions'. Let go once the response is handed on: the layer above may hold the
   * request and its upload, and this object lives on as the body's listener.
   */
  #k: RoundTripContinuation | undefined
  /** The request the hooks are attached to, until they come off. */
  #request: Request | undefined
  /** The response handed on, while its body is timed. */
  #response: Response | undefined
  /** With a promise of its own, while waiting: the listener that rejects it when the caller's signal aborts (the layer below may not listen). */
  #onCallerAbort: (() => void) | undefined

  constructor(outer: CallSignal, includeBody: boolean, k: RoundTripContinuation | undefined) {
    super(outer)
    const own = k instanceof OwnPromise
    this.#state = WAITING | (includeBody ? INCLUDE_BODY : 0) | (own ? OWN_PROMISE : 0)
    this.#k = k
    if (own && outer !== neverAborted) {
      this.#onCallerAbort = this.#callerAborted.bind(this)
      this.addEventListener('abort', this.#onCallerAbort)
    }
  }

  /** Starts the call; its promise is the caller's unless the call has a promise of its own. */
  run(next: RoundTripper, request: Request, queue: DeadlineQueue): Promise<Response> {
    queue.add(this)
    this.#request = request
    attachHooks(request, this)
    return roundTripThen(next, request, this)
  }

  /** The deadline passed (its queue's timer fired). */
  expire(): void {
    // Only a pending deadline expires (a settled one left its queue). Aborted
    // here means the caller's signal (our parent) was: the caller has its reason.
    if (this.aborted) return
    const reason = timeoutError()
    const state = this.#state
    const response = this.#response
    if ((state & STAGE) === WAITING) this.#state = (state & ~STAGE) | DONE
    // The layers below may settle the body at once (the Transport does): then abortBody finds it settled.
    // A layer below that rejects on abort rejects now; its rejection becomes the call's (failed).
    this.abort(reason)
    if ((state & STAGE) !== WAITING) {
      if (response !== undefined) abortBody(response, reason)
      return
    }
    // The hooks stay on the request until the layer below settles (failed,
    // received): a layer that reads the call's signal after an await must
    // see it aborted, not the caller's.
    if ((state & OWN_PROMISE) !== 0) this.#k!.failed(reason)
  }

  /**
   * This call's signal aborted, with a promise of its own (OWN_PROMISE). The
   * caller's signal, while waiting: the call rejects with its reason now,
   * and a response that comes later is released, as for the deadline. The
   * deadline's own abort finds the call done (expire() rejects).
   */
  #callerAborted(): void {
    this.#onCallerAbort = undefined
    const state = this.#state
    if ((state & STAGE) !== WAITING) return
    this.#state = (state & ~STAGE) | DONE
    this.queue?.remove(this)
    // The hooks stay on the request until the layer below settles, as in expire().
    this.#k!.failed(this.reason)
  }

  /** The body settled (read, cancelled, failed — maybe by this deadline — or collected). */
  bodySettled(): void {
    this.#response = undefined
    this.#settle()
  }

  /** The reaction to the layer below's response: handed on (to `k` when the layer above handed it down), or released when too late. */
  received(received: Response): Response | PromiseLike<Response> {
    const k = this.#k
    if (k === undefined) return this.#received(received)
    // expire() calls it only while waiting: from here on, it is nobody's business.
    this.#k = undefined
    let response: Response
    try {
      response = this.#received(received)
    } catch (error) {
      return k.failed(error)
    }
    return k.received(response)
  }

  /** The reaction to the layer below's failure: whatever it made of our abort, the caller sees the deadline's error. */
  failed(error: unknown): Response | PromiseLike<Response> {
    if ((this.#state & STAGE) !== DONE) this.#settle()
    else this.#detach()
    const reason = this.aborted ? this.reason : error
    const k = this.#k
    if (k === undefined) throw reason
    return k.failed(reason)
  }

  /** The response to hand on; throws the deadline's error when it came too late. */
  #received(received: Response): Response {
    const state = this.#state
    // Too late: the caller has (or is getting) the deadline's error; the body is ours to release.
    if ((state & STAGE) === DONE) {
      this.#detach()
      discardResponse(received, this.reason)
      throw this.reason
    }
    if ((state & INCLUDE_BODY) === 0) {
      // The deadline covered the head only: nothing of the body is ours to watch.
      this.#settle()
      return received
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
      return received
    }
    this.#detach()
    this.#state = (state & ~STAGE) | BODY
    this.#response = observed
    return observed
  }

  #settle(): void {
    this.#state = (this.#state & ~STAGE) | DONE
    this.#detach()
    this.queue?.remove(this)
  }

  #detach(): void {
    if (this.#request !== undefined) detachHooks(this.#request, this)
    this.#request = undefined
    if (this.#onCallerAbort !== undefined) {
      // Settled or handed on: the caller's signal is no longer ours to listen to.
      this.removeEventListener('abort', this.#onCallerAbort)
      this.#onCallerAbort = undefined
    }
  }
}
