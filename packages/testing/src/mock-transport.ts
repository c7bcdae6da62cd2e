import { callSignal, delay as wait, discardResponse, redactUrl, type RoundTripper } from '@roundtrip/core'
import { abortable } from './abort.js'
import { ERR_MOCK_NO_MATCH, ERR_MOCK_PENDING, TestingError } from './errors.js'
import { Interceptor, type InterceptOptions } from './interceptor.js'
import type { RequestFacts } from './matchers.js'

/** MockTransportOptions configure a {@link MockTransport}. */
export interface MockTransportOptions {
  /** Where requests that no interceptor matches go (a real Transport, say). Undefined: they reject with `RT_MOCK_NO_MATCH`. */
  passthrough?: RoundTripper
}

/** MockCall is one request a MockTransport received, in the order they came. */
export interface MockCall {
  /** The request as it was given (its body is left unread). */
  readonly request: Request
  /** The request body's bytes, or `null` when it has none. */
  readonly body: Uint8Array | null
  /** The interceptor that answered; undefined when none matched (passthrough or rejection). */
  readonly interceptor: Interceptor | undefined
  /** The response status, once a response was given; undefined while pending or when the call rejected. */
  status: number | undefined
  /** What the call rejected with, if it did. */
  error: unknown
}

/** How many of the closest interceptors a no-match error lists. */
const CLOSEST = 3

/**
 * MockTransport is a RoundTripper that answers from interceptors, for tests:
 * the code under test keeps its whole stack (`createFetch`, its middleware,
 * the leak tracker) and only the bottom layer is swapped. Like undici's
 * `MockAgent`, interceptors are tried in the order they were added; the
 * first that matches and has answers left replies.
 *
 * It keeps the RoundTripper contract: it does not mutate the request (the
 * body is read from a clone), an aborted `request.signal` — or the call's
 * signal a layer above attached (core's `callSignal`, as `timeout()` does) —
 * rejects with its reason (also during `delay`), responses are made with core's
 * `createResponse` (`url` is the request's, `redirected` false), and the
 * caller owns the response body.
 *
 * @example
 * ```ts
 * const mock = new MockTransport()
 * mock.intercept({ method: 'GET', url: 'https://api.example.com/users/:id' })
 *   .reply((request, { params }) => ({ status: 200, body: { id: params.id } }))
 * const fetch = createFetch(compose(mock, leakTracker()))
 * await (await fetch('https://api.example.com/users/42')).json() // { id: '42' }
 * mock.assertNoPendingInterceptors()
 * ```
 */
export class MockTransport implements RoundTripper {
  readonly #interceptors: Interceptor[] = []
  readonly #calls: MockCall[] = []
  readonly #passthrough: RoundTripper | undefined

  constructor(options: MockTransportOptions = {}) {
    this.#passthrough = options.passthrough
  }

  /**
   * intercept adds an interceptor for the requests `options` describe and
   * returns it; give it a reply with `.reply()` or `.replyWithError()`.
   *
   * @throws TestingError `RT_MOCK_INVALID` for a matcher that cannot work (an empty URL, a bad method).
   */
  intercept(options: InterceptOptions): Interceptor {
    const interceptor = new Interceptor(options)
    this.#interceptors.push(interceptor)
    return interceptor
  }

  /** Every request received so far, oldest first. */
  get calls(): readonly MockCall[] {
    return this.#calls
  }

  /** The interceptors still expected to be called: answers left (not persisted), or persisted and never called. */
  pendingInterceptors(): Interceptor[] {
    return this.#interceptors.filter((i) => i.pending)
  }

  /**
   * assertNoPendingInterceptors throws when some interceptor was not called
   * as often as it expected; the message lists each with its count.
   *
   * @throws TestingError `RT_MOCK_PENDING`
   */
  assertNoPendingInterceptors(): void {
    const pending = this.pendingInterceptors()
    if (pending.length === 0) return
    const lines = pending.map((i) => `  - ${i.description}: ${i.progress}`)
    throw new TestingError(
      ERR_MOCK_PENDING,
      `${pending.length === 1 ? '1 interceptor is' : `${pending.length} interceptors are`} still pending:\n${lines.join('\n')}`,
    )
  }

  /** roundTrip answers `request` from the first matching interceptor; see the class contract. */
  async roundTrip(request: Request): Promise<Response> {
    // The call's signal: the request's own, or one a layer above attached (a timeout() middleware's).
    const signal = callSignal(request)
    if (signal.aborted) throw signal.reason
    const body = request.body === null ? null : new Uint8Array(await abortable(request.clone().arrayBuffer(), signal))
    const facts: RequestFacts = { method: request.method, url: new URL(request.url), headers: request.headers, body }
    const results = this.#interceptors.map((interceptor, index) => ({ interceptor, index, ...interceptor.match(facts) }))
    const hit = results.find((r) => r.reasons.length === 0)
    const call: MockCall = { request, body, interceptor: hit?.interceptor, status: undefined, error: undefined }
    this.#calls.push(call)
    try {
      let response: Response
      if (hit !== undefined) {
        const { delay, answer } = hit.interceptor.take()
        if (delay > 0) await wait(delay, signal)
        response = await abortable(answer(request, { params: hit.params, body }), signal, discardResponse)
      } else if (this.#passthrough !== undefined) {
        response = await this.#passthrough.roundTrip(request)
      } else {
        throw noMatch(request, results)
      }
      call.status = response.status
      return response
    } catch (error) {
      call.error = error
      throw error
    }
  }
}

function noMatch(request: Request, results: Array<{ interceptor: Interceptor; index: number; reasons: string[]; score: number }>): TestingError {
  const what = `${request.method} ${redactUrl(request.url)}`
  if (results.length === 0) {
    return new TestingError(ERR_MOCK_NO_MATCH, `no interceptor matches ${what}: none is registered (add one with mock.intercept())`)
  }
  const closest = [...results].sort((a, b) => b.score - a.score || a.index - b.index).slice(0, CLOSEST)
  const lines = closest.map((r) => `  - ${r.interceptor.description}: ${r.reasons.join('; ')}`)
  const more = results.length > CLOSEST ? `\n  (${results.length - CLOSEST} more not shown)` : ''
  return new TestingError(
    ERR_MOCK_NO_MATCH,
    `no interceptor matches ${what}; the closest of ${results.length}:\n${lines.join('\n')}${more}`,
  )
}
