import {
  callSignal,
  createBody,
  createResponse,
  isNullBodyStatus,
  neverAborts,
  redactUrl,
  stripFragment,
  type BodySink,
  type CallSignal,
  type RoundTripper,
} from '@roundtrip/core'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { BridgeError, ERR_INVALID_ARGUMENT, ERR_UPGRADE_UNSUPPORTED } from './errors.js'
import { headersFromDispatch } from './headers.js'

/** A RoundTripper made by {@link fromDispatcher}. */
export interface DispatcherRoundTripper extends RoundTripper {
  /** The dispatcher requests go through. */
  readonly dispatcher: Dispatcher
  /** Closes the dispatcher (`dispatcher.close()`): in-flight requests finish, new ones are refused by it. */
  close(): Promise<void>
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** Request headers that belong to one connection: the dispatcher manages them (undici refuses most of them). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'expect', 'te'])

const trailersByResponse = new WeakMap<Response, Headers>()

/**
 * responseTrailers returns the trailers of a response made by
 * {@link fromDispatcher} once the whole response has arrived (read the body
 * to the end to be sure), or undefined (not arrived yet, no trailers sent,
 * or another kind of response).
 * A WHATWG `Response` has no place for trailers, so they are kept here.
 */
export function responseTrailers(response: Response): Headers | undefined {
  return trailersByResponse.get(response)
}

/**
 * fromDispatcher makes a RoundTripper over any undici `Dispatcher`: an
 * `Agent`, `Pool`, `Client`, `ProxyAgent`, `EnvHttpProxyAgent`, `MockAgent`,
 * or one with interceptors (`agent.compose(interceptors.cache())`).
 *
 * It keeps the RoundTripper contract: one dispatch per request (redirects
 * stay above it: a `redirect` interceptor on the dispatcher would break
 * that), a `Response` whose body is streamed and back-pressured (the
 * dispatcher's socket is paused while the reader is behind), abort rejecting
 * with the reason of the call's signal (`request.signal`, or the deadline a
 * layer above attached: core's `callSignal`; failing a body under way), and the
 * caller owning the body: read it to the end or cancel it, which aborts the
 * dispatch. The response is built by `@roundtrip/core`'s `createResponse`,
 * so the leak tracker observes it in place.
 *
 * Headers go out as the request has them (no `accept-encoding` is added) and
 * bodies come back as the dispatcher delivers them: nothing is decoded, as
 * Go's Transport does not decode what it did not ask for. Errors are the
 * dispatcher's own (`UND_ERR_*` codes, or the socket's `ECONNREFUSED`, …).
 * `close()` closes the dispatcher.
 *
 * @throws BridgeError `RT_INVALID_ARGUMENT` when `dispatcher` has no `dispatch` method.
 *
 * @example
 * ```ts
 * import { ProxyAgent } from 'undici'
 * const fetch = createFetch(compose(fromDispatcher(new ProxyAgent('http://proxy.internal:3128')), leakTracker()))
 * ```
 */
export function fromDispatcher(dispatcher: Dispatcher): DispatcherRoundTripper {
  if (typeof (dispatcher as { dispatch?: unknown } | null)?.dispatch !== 'function') {
    throw new BridgeError(ERR_INVALID_ARGUMENT, 'fromDispatcher: expected an undici Dispatcher (an object with a dispatch method)')
  }
  const close = (): Promise<void> => dispatcher.close()
  return {
    dispatcher,
    roundTrip: (request) => roundTrip(dispatcher, request),
    close,
    [Symbol.asyncDispose]: close,
  }
}

function roundTrip(dispatcher: Dispatcher, request: Request): Promise<Response> {
  // The request's signal, or a deadline a layer above attached (core's call hooks).
  const signal = callSignal(request)
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<Response>((resolve, reject) => {
    const url = new URL(request.url)
    const headers: string[] = []
    let reset = false
    for (const [name, value] of request.headers) {
      if (HOP_BY_HOP.has(name)) {
        if (name === 'connection' && /\bclose\b/i.test(value)) reset = true
        continue
      }
      headers.push(name, value)
    }
    const call = new DispatchCall(request, url.origin, signal, resolve, reject)
    const options: Dispatcher.DispatchOptions = {
      origin: url.origin,
      path: url.pathname + url.search,
      method: request.method as Dispatcher.HttpMethod,
      headers,
      // A web ReadableStream is an async iterable: undici streams it, chunked
      // unless the request carries its own content-length.
      body: request.body as unknown as Readable | null,
      reset,
    }
    try {
      dispatcher.dispatch(options, call)
    } catch (error) {
      call.onError(error as Error)
    }
  })
}

/**
 * DispatchCall is the legacy-style handler of one dispatch (`onConnect` …
 * `onComplete`): undici 6 (Node 20's) and 7 dispatchers both speak it, and
 * undici 7 turns the newer handler calls into these for its own clients.
 */
class DispatchCall implements Dispatcher.DispatchHandler {
  readonly #request: Request
  /** The origin: what undici pools the connection under, which the body declares it holds. */
  readonly #origin: string
  readonly #signal: CallSignal
  #resolve: ((response: Response) => void) | undefined
  #reject: ((error: unknown) => void) | undefined
  #abort: ((error: Error) => void) | undefined
  #onSignal: (() => void) | undefined
  #sink: BodySink | undefined
  #response: WeakRef<Response> | undefined

  constructor(request: Request, origin: string, signal: CallSignal, resolve: (response: Response) => void, reject: (error: unknown) => void) {
    this.#request = request
    this.#origin = origin
    this.#signal = signal
    this.#resolve = resolve
    this.#reject = reject
    // Bound, not `() => …`: V8 allocates a function literal assigned to a
    // property in the old generation, where (even dead) it kept this call and
    // its request alive through young GCs until the next full GC.
    if (neverAborts(signal)) return
    this.#onSignal = this.#aborted.bind(this)
    signal.addEventListener('abort', this.#onSignal, { once: true })
  }

  #aborted(): void {
    this.#abort?.(this.#signal.reason as Error)
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort as (error: Error) => void
    if (this.#signal.aborted) abort(this.#signal.reason as Error)
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    // Informational heads (1xx) are not the response.
    if (statusCode < 200) return true
    const resolve = this.#resolve
    if (resolve === undefined) return true
    let response: Response
    try {
      const headers = headersFromDispatch(raw)
      const nullBody = this.#request.method === 'HEAD' || isNullBodyStatus(statusCode)
      let body = null
      if (!nullBody) {
        const made = createBody({
          pull: resume,
          cancel: (reason) => this.#abort?.(reason instanceof Error ? reason : new Error(String(reason ?? 'body cancelled'))),
        })
        body = made.body
        this.#sink = made.sink
        // The body pins the dispatcher's connection until the response completes (core's bodyHold).
        made.sink.hold(this.#origin)
      }
      response = createResponse(body, { status: statusCode, statusText, headers, url: stripFragment(this.#request.url), type: 'basic' })
    } catch (error) {
      // A status a Response cannot hold, an invalid header: fail the dispatch with the coded error.
      this.#sink = undefined
      this.#fail(error)
      this.#abort?.(error as Error)
      return false
    }
    this.#resolve = undefined
    this.#reject = undefined
    // Weakly: the dispatcher holds this handler, and must not keep the response from being collected.
    this.#response = new WeakRef(response)
    if (this.#sink === undefined) this.#finish()
    resolve(response)
    return true
  }

  onData(chunk: Buffer): boolean {
    return this.#sink?.push(chunk) ?? true
  }

  onComplete(trailers: string[] | Buffer[] | null): void {
    if (trailers !== null && trailers.length > 0) {
      const response = this.#response?.deref()
      if (response !== undefined) trailersByResponse.set(response, headersFromDispatch(trailers as string[]))
    }
    this.#finish()
    this.#sink?.release()
    this.#sink?.end()
  }

  onError(error: Error): void {
    const signal = this.#signal
    const failure = signal.aborted ? signal.reason : error
    this.#fail(failure)
    this.#sink?.release()
    this.#sink?.error(failure)
  }

  onUpgrade(): void {
    throw new BridgeError(
      ERR_UPGRADE_UNSUPPORTED,
      `fromDispatcher: the dispatcher upgraded the connection, which a RoundTripper cannot return (${this.#request.method} ${redactUrl(this.#request.url)})`,
    )
  }

  #fail(error: unknown): void {
    this.#finish()
    const reject = this.#reject
    this.#resolve = undefined
    this.#reject = undefined
    reject?.(error)
  }

  #finish(): void {
    if (this.#onSignal !== undefined) {
      this.#signal.removeEventListener('abort', this.#onSignal)
      this.#onSignal = undefined
    }
  }
}
