import { reactWith, type CallSignal, type ReplayableBody, type RoundTripContinuation, type RoundTripper } from '@roundtrip/core'

/** What the calls of one retry() share. */
export interface RetryPolicy {
  /** The statuses that are retried. */
  statusCodes: ReadonlySet<number>
  /** The retry loop, from the first attempt's outcome. */
  retrying(next: RoundTripper, request: Request, signal: CallSignal, replayable: ReplayableBody | undefined, first: Response | undefined, firstError: unknown): Promise<Response>
}

/**
 * RetryCall is one call's reaction to its first attempt: the response is
 * handed on unless its status is retried; a retried status or a failure goes
 * on in the retry loop (a promise of its own). With the reaction of the
 * layer above (core's kRoundTripThen), it hands its outcome on to it.
 */
export class RetryCall implements RoundTripContinuation {
  readonly #policy: RetryPolicy
  readonly #next: RoundTripper
  readonly #request: Request
  readonly #signal: CallSignal
  readonly #replayable: ReplayableBody | undefined
  readonly #k: RoundTripContinuation | undefined

  constructor(
    policy: RetryPolicy,
    next: RoundTripper,
    request: Request,
    signal: CallSignal,
    replayable: ReplayableBody | undefined,
    k: RoundTripContinuation | undefined,
  ) {
    this.#policy = policy
    this.#next = next
    this.#request = request
    this.#signal = signal
    this.#replayable = replayable
    this.#k = k
  }

  /** The first attempt's response: handed on, unless its status is retried. */
  received(response: Response): Response | PromiseLike<Response> {
    if (this.#policy.statusCodes.has(response.status)) return this.#retry(response, undefined)
    const k = this.#k
    return k === undefined ? response : k.received(response)
  }

  /** The first attempt failed: the retry loop decides. */
  failed(error: unknown): Response | PromiseLike<Response> {
    return this.#retry(undefined, error)
  }

  #retry(response: Response | undefined, error: unknown): Promise<Response> {
    const retried = this.#policy.retrying(this.#next, this.#request, this.#signal, this.#replayable, response, error)
    return reactWith(retried, this.#k)
  }
}
