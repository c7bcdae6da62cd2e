import type { Transform } from 'node:stream'
import { createBody, createResponse, getContext, type CallSignal, isNullBodyStatus, stripFragment, type BodySink, type TrackedBody } from '@roundtrip/core'
import type { Dispatcher } from 'undici'
import { createDecoder, decodingError } from './decode.js'
import { applyConnHeader, bodyTimeoutError, Deadline, headersTimeoutError, preciseLimit } from './deadlines.js'
import { ERR_RESPONSE_TOO_LARGE, TransportError } from './errors.js'
import { H2_UNPROCESSED as UNPROCESSED, mapError } from './errors-map.js'
import type { ResolvedOptions } from './resolve-options.js'
import type { OutgoingBody } from './request-body.js'
import { mayResend, StaleConnError, type RetryPolicy } from './retry-policy.js'
import { callHook, type ClientTrace } from './trace.js'

/**
 * ExchangeConn is what an exchange uses of its connection: an HTTP/1.1
 * `PersistConn`, or the stream lease of an HTTP/2 conn (see h2-stream.ts).
 */
export interface ExchangeConn {
  /** Requests sent on the connection so far, this one included: more than 1 means reused. */
  readonly requests: number
  /** False once the server asked to close the connection. */
  reusable: boolean
  /** Idle limit of the connection, shortened by a `Keep-Alive: timeout` hint. */
  idleLimit: number
  acceptUnsolicited100(): void
  takeInterimStatus(status: number): number
}

/** What an exchange needs from the transport that owns its connection. */
export interface ConnOwner {
  /** The response is complete: reuse or close the conn (an HTTP/2 stream: give it back). */
  release(conn: ExchangeConn, trace: ClientTrace | undefined): void
  /** The exchange failed or was cancelled: the conn is closed (an HTTP/2 stream: reset, the conn stays). */
  discard(conn: ExchangeConn, error: Error, trace: ClientTrace | undefined): void
}


/**
 * Exchange is one request/response on one connection: the undici dispatch
 * handler that turns the response head into a `Response` and feeds its body
 * through core's body lifecycle, so that the connection is released when the
 * server has sent the whole body and closed when the reader cancels.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  readonly #request: Request
  /** What aborts the exchange: the call's signal (core's `callSignal`), the request's own unless a layer attached one. */
  readonly #signal: CallSignal
  readonly #conn: ExchangeConn
  readonly #owner: ConnOwner
  readonly #options: ResolvedOptions
  readonly #trace: ClientTrace | undefined
  readonly #what: string
  readonly #retry: RetryPolicy
  // Dropped once used: a settled promise holds its value, and the response
  // must not be kept alive by the connection (it would never be collected).
  #resolve: (response: Response) => void
  #reject: (error: unknown) => void
  #abort: ((error: Error) => void) | undefined
  #responded = false
  #sink: BodySink | undefined
  #decoder: Transform | undefined
  /** undici's resume: asks the connection for more body bytes. */
  #resume: () => void = noop
  #encodedBytes = 0
  #bodyBytes = 0
  #onSignal: (() => void) | undefined
  /** Our header or body deadline (only for limits under 1 s, see {@link preciseLimit}); `#stage` says which. */
  #deadline: Deadline | undefined
  #stage: 'head' | 'body' = 'head'
  #done = false

  constructor(
    request: Request,
    signal: CallSignal,
    conn: ExchangeConn,
    owner: ConnOwner,
    options: ResolvedOptions,
    trace: ClientTrace | undefined,
    what: string,
    retry: RetryPolicy,
    resolve: (response: Response) => void,
    reject: (error: unknown) => void,
  ) {
    this.#request = request
    this.#signal = signal
    this.#conn = conn
    this.#owner = owner
    this.#options = options
    this.#trace = trace
    this.#what = what
    this.#retry = retry
    this.#resolve = resolve
    this.#reject = reject
    if (!signal.aborted) {
      this.#onSignal = Exchange.#abortListener(this)
      // No `{ once: true }`: a signal aborts once, the exchange removes its listener when it ends, and the options cost an object and a validation per request.
      signal.addEventListener('abort', this.#onSignal)
    }
  }

  /**
   * The abort listener of `exchange`. Made by a function, never written as
   * `this.#onSignal = () => …`: V8 allocates a function literal assigned to
   * a property in the old generation (to make it a constant property), and
   * such a closure, even dead, keeps its context (and so the exchange, its
   * request and its response head) alive through every young GC until the
   * next full one: about 1 KB per request promoted (issue 21;
   * `no-pretenured-closures.test.ts` keeps the pattern out).
   */
  static #abortListener(exchange: Exchange): () => void {
    return () => exchange.#onAbort()
  }

  #onAbort(): void {
    const reason: unknown = this.#signal.reason
    if (!this.#done) return this.#abort?.(reason as Error)
    // The message is complete, but the decoder still has output for the
    // reader (a small gzip body can inflate to gigabytes): stop it.
    this.#unlisten()
    this.#decoder?.destroy()
    this.#sink?.error(reason)
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort as (error: Error) => void
    this.#conn.acceptUnsolicited100()
    if (this.#signal.aborted) abort(this.#signal.reason as Error)
    else this.#arm('head')
  }

  /**
   * undici runs header and body timeouts on its coarse timers (about 1 s of
   * resolution), and an HTTP/2 conn its sweep; a limit under a second gets a
   * precise deadline of ours here.
   */
  #arm(stage: 'head' | 'body'): void {
    this.#stage = stage
    const limit = stage === 'head' ? this.#options.responseHeaderTimeout : this.#options.bodyTimeout
    const ms = preciseLimit(limit)
    if (ms === 0) return this.#disarm()
    // Made on first use: most requests run on undici's timers only.
    this.#deadline ??= new Deadline(this.#options.clock, () => this.#expired(), true)
    this.#deadline.arm(ms)
  }

  #disarm(): void {
    this.#deadline?.disarm()
  }

  #expired(): void {
    const options = this.#options
    this.#abort?.(
      this.#stage === 'head' ? headersTimeoutError(options.responseHeaderTimeout, this.#what) : bodyTimeoutError(options.bodyTimeout, this.#what),
    )
  }

  onResponseStarted(): void {
    // Guarded here: callHook's rest parameter is an array per call.
    if (this.#trace !== undefined) callHook(this.#trace, 'gotFirstResponseByte')
  }

  onRequestSent(): void {
    // No info object per request unless someone listens.
    if (this.#trace?.wroteRequest !== undefined) callHook(this.#trace, 'wroteRequest', {})
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    const pairs: string[] = new Array(rawHeaders.length)
    for (let i = 0; i < rawHeaders.length; i++) pairs[i] = rawHeaders[i]!.toString('latin1')
    return this.onHead(statusCode, pairs, resume, statusText)
  }

  /**
   * onHead takes a response head (`pairs` is `[name, value, …]`): an interim
   * one is reported and skipped; a final one resolves the call with its
   * Response. `resume` asks the connection for more body bytes.
   */
  onHead(statusCode: number, pairs: string[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200 && statusCode >= 100 && statusCode !== 101) {
      // An interim response: skip it and wait for the final one (Go's Got1xxResponse).
      if (this.#trace?.got1xxResponse !== undefined) {
        const status = this.#conn.takeInterimStatus(statusCode)
        callHook(this.#trace, 'got1xxResponse', { status, headers: headersOf(pairs) })
      }
      return true
    }
    // A status a Response cannot hold: createResponse throws its coded error,
    // undici aborts the request with it and the conn is closed.
    if (statusCode < 200 || statusCode > 599) createResponse(null, { status: statusCode, url: this.#what })
    const conn = this.#conn
    let contentEncoding: string | null = null
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i]!
      const value = pairs[i + 1]!
      if (name.length === 10) applyConnHeader(conn, name.toLowerCase(), value)
      else if (name.length === 16 && name.toLowerCase() === 'content-encoding') {
        contentEncoding = contentEncoding === null ? value : `${contentEncoding}, ${value}`
      }
    }
    const nullBody = this.#request.method === 'HEAD' || isNullBodyStatus(statusCode)
    let responseBody: TrackedBody | null = null
    if (!nullBody) {
      const decode = !this.#options.disableCompression && getContext(this.#request).decompress !== false
      const decoder = decode ? createDecoder(contentEncoding, this.#what) : undefined
      // The exchange is the body's producer (its pull and cancel methods): no closures per response.
      if (decoder !== undefined) this.#decoder = decoder
      this.#resume = resume
      const body = createBody(this, { highWaterMark: this.#options.bodyHighWaterMark })
      responseBody = body.body
      this.#sink = body.sink
      if (decoder !== undefined) this.#pipeDecoder(decoder, contentEncoding!, body.sink, resume)
    }
    const response = createResponse(responseBody, { status: statusCode, statusText, url: stripFragment(this.#request.url), type: 'basic' })
    // Appended to the response's own Headers: building a Headers to pass in would be copied once more.
    const headers = response.headers
    for (let i = 0; i < pairs.length; i += 2) headers.append(pairs[i]!, pairs[i + 1]!)
    this.#responded = true
    if (responseBody !== null) this.#arm('body')
    else this.#disarm()
    const resolve = this.#resolve
    this.#resolve = noop
    this.#reject = noop
    resolve(response)
    return true
  }

  /**
   * pull (core's BodyProducer): the reader wants more; the body clock runs
   * again. With a decoder, the socket resumes on the decoder's 'drain', not
   * here: resuming it into a full decoder would pile up encoded bytes.
   */
  pull(): void {
    if (this.#deadline?.armed !== true && !this.#done) this.#arm('body')
    const decoder = this.#decoder
    if (decoder === undefined) this.#resume()
    else decoder.resume()
  }

  /** cancel (core's BodyProducer): the reader cancelled the body, or it was collected unread. */
  cancel(reason: unknown): void {
    // The decoder may still hold output after the message completed.
    this.#decoder?.destroy()
    this.#abort?.(reason instanceof Error ? reason : new Error(String(reason ?? 'body cancelled')))
  }

  #pipeDecoder(decoder: Transform, contentEncoding: string, sink: BodySink, resume: () => void): void {
    decoder.on('data', (chunk: Buffer) => {
      if (!this.#push(sink, chunk)) decoder.pause()
    })
    decoder.on('drain', resume)
    decoder.on('end', () => {
      this.#unlisten()
      // The size on the wire, for resource timing's encodedBodySize.
      sink.end(this.#encodedBytes)
    })
    decoder.on('close', () => this.#unlisten())
    decoder.on('error', (error) => {
      const failure = decodingError(error, contentEncoding, this.#what)
      sink.error(failure)
      this.#abort?.(failure)
    })
  }

  onData(chunk: Buffer): boolean {
    this.#deadline?.refresh()
    const decoder = this.#decoder
    let more: boolean
    if (decoder === undefined) more = this.#sink === undefined || this.#push(this.#sink, chunk)
    else if (decoder.destroyed) more = true // cancelled or failed: undici is being told to stop
    else {
      this.#encodedBytes += chunk.length
      more = decoder.write(chunk)
    }
    // Paused for a slow reader: the gap is the reader's, not the server's.
    if (!more) this.#disarm()
    return more
  }

  /** push hands a decoded chunk to the body, enforcing `maxResponseBodySize`. */
  #push(sink: BodySink, chunk: Buffer): boolean {
    const max = this.#options.maxResponseBodySize
    if (max > 0 && (this.#bodyBytes += chunk.length) > max) {
      const failure = new TransportError(
        ERR_RESPONSE_TOO_LARGE,
        `response body larger than maxResponseBodySize (${max} bytes, decoded) (${this.#what})`,
      )
      sink.error(failure)
      this.#decoder?.destroy()
      this.#abort?.(failure)
      return false
    }
    return sink.push(chunk)
  }

  onComplete(): void {
    const decoder = this.#decoder
    // A decoder still producing keeps the abort listener until its end.
    this.#finish(decoder !== undefined && this.#encodedBytes > 0)
    this.#owner.release(this.#conn, this.#trace)
    if (decoder === undefined) this.#sink?.end()
    else if (this.#encodedBytes > 0) decoder.end()
    else {
      // An empty body labelled with a coding is an empty body (as Go's gzip reader at EOF).
      decoder.destroy()
      this.#sink!.end()
    }
  }

  onError(error: Error): void {
    this.#finish()
    const signal = this.#signal
    const aborted = signal.aborted && (error === signal.reason || !this.#responded)
    const failure = aborted ? signal.reason : mapError(error, this.#what, this.#options, this.#responded)
    this.#owner.discard(this.#conn, failure instanceof Error ? failure : error, this.#trace)
    if (!this.#responded) {
      const unprocessed = (error as { code?: string }).code === UNPROCESSED && this.#retry !== 'never'
      // `#abort` is set by onConnect: undici started the request.
      if (!aborted && (unprocessed || mayResend(this.#conn.requests > 1, this.#abort !== undefined, this.#retry, error))) {
        this.#reject(new StaleConnError(failure as Error))
      } else {
        this.#reject(failure)
      }
      return
    }
    if (this.#decoder !== undefined) this.#decoder.destroy()
    this.#sink?.error(failure)
  }

  #finish(decoding = false): void {
    this.#done = true
    this.#disarm()
    if (!decoding) this.#unlisten()
  }

  #unlisten(): void {
    if (this.#onSignal !== undefined) {
      this.#signal.removeEventListener('abort', this.#onSignal)
      this.#onSignal = undefined
    }
  }
}

function noop(): void {}

/** headersOf builds a Headers from a `[name, value, …]` list. */
function headersOf(pairs: string[]): Headers {
  const headers = new Headers()
  for (let i = 0; i < pairs.length; i += 2) headers.append(pairs[i]!, pairs[i + 1]!)
  return headers
}
