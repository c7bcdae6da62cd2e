import type { Transform } from 'node:stream'
import { createBody, createResponse, getContext, isNullBodyStatus, neverAborts, stripFragment, type BodyHold, type BodySink } from '@roundtrip/core'
import type { Dispatcher } from 'undici'
import { createDecoder, decodingError } from './decode.js'
import { applyConnHeader, armStage, type Stage, type StageDeadline, type StageOwner } from './deadlines.js'
import { ERR_RESPONSE_TOO_LARGE, TransportError } from './errors.js'
import { mapError } from './errors-map.js'
import type { ResolvedOptions } from './resolve-options.js'
import type { OutgoingBody } from './request-body.js'
import { shouldResend, StaleConnError } from './retry-policy.js'
import type { Call } from './call.js'
import { callHook, type ClientTrace } from './trace.js'
import { headersOf, latin1 } from './headers.js'
import { unwatchAbort, watchAbort, type AbortWatcher, type Watching } from './abort-watch.js'

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
  /** The pool the connection counts in: its key is what a response body declares it holds (core's `BodySink.hold`). */
  readonly pool: { readonly key: string; bodilessHold(reused: boolean): Readonly<BodyHold> }
  acceptUnsolicited100(): void
  takeInterimStatus(status: number): number
}

/** What an exchange needs from the transport that owns its connection. */
export interface ConnOwner {
  /** The response is complete: reuse or close the conn (an HTTP/2 stream: give it back). */
  release(conn: ExchangeConn, trace: ClientTrace | undefined): void
  /** The exchange failed or was cancelled: the conn is closed (an HTTP/2 stream: reset, the conn stays). */
  discard(conn: ExchangeConn, error: Error, trace: ClientTrace | undefined): void
  /** The exchange failed before a response: fail `call` with `error`, or send it again when `error` is a {@link StaleConnError} (retry-policy.ts's `shouldResend` said so). */
  failed(call: Call, error: unknown): void
}


/**
 * Exchange is one request/response on one connection: the undici dispatch
 * handler that turns the response head into a `Response` and feeds its body
 * through core's body lifecycle, so that the connection is released when the
 * server has sent the whole body and closed when the reader cancels.
 */
export class Exchange implements Dispatcher.DispatchHandler, StageOwner, AbortWatcher {
  /**
   * The call this exchange sends (its request, signal, trace, retry policy;
   * what it settles). The call drops its settle functions once settled: the
   * connection keeps the exchange, and must not keep the response alive (it
   * would never be collected).
   */
  readonly #call: Call
  readonly #conn: ExchangeConn
  readonly #owner: ConnOwner
  readonly #options: ResolvedOptions
  #abort: ((error: Error) => void) | undefined
  #responded = false
  #sink: BodySink | undefined
  #decoder: Transform | undefined
  /** undici's resume: asks the connection for more body bytes. */
  #resume: () => void = noop
  #encodedBytes = 0
  #bodyBytes = 0
  /** Set while the exchange watches its call's signal (abort-watch.ts). */
  #watching: Watching | undefined
  /** Our header or body deadline (for limits under 1 s and the request's own, see deadlines.ts's armStage); made on first use. */
  #deadline: StageDeadline | undefined
  #done = false
  /** The trace heard `gotFirstResponseByte`. */
  #gotFirstByte = false

  constructor(call: Call, conn: ExchangeConn, owner: ConnOwner, options: ResolvedOptions) {
    this.#call = call
    this.#conn = conn
    this.#owner = owner
    this.#options = options
    const signal = call.signal
    // A call nothing can abort (core's neverAborted: createFetch's without a caller signal) is not watched.
    if (!neverAborts(signal) && !signal.aborted) this.#watching = watchAbort(signal, this)
  }

  /** signalAborted (AbortWatcher): the call's signal aborted. */
  signalAborted(): void {
    // It stopped watching while the abort was being told (abort-watch.ts's AbortWatcher).
    if (this.#watching === undefined) return
    this.#watching = undefined
    this.#onAbort()
  }

  #onAbort(): void {
    const reason: unknown = this.#call.signal.reason
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
    const signal = this.#call.signal
    if (signal.aborted) abort(signal.reason as Error)
    else this.#arm('head')
  }

  /** The request, for a deadline's error (StageOwner). */
  get what(): string {
    return this.#call.what
  }

  /** timedOut (StageOwner): our header or body deadline passed. */
  timedOut(error: Error): void {
    this.#abort?.(error)
  }

  #arm(stage: Stage): void {
    this.#deadline = armStage(this.#deadline, stage, this.#options, this, this.#call.limits)
  }

  #disarm(): void {
    this.#deadline?.disarm()
  }

  onResponseStarted(): void {
    // Once, as Go's: undici calls this for every head, interim (1xx) ones too. Guarded here: callHook's rest parameter is an array per call.
    const trace = this.#call.trace
    if (trace === undefined || this.#gotFirstByte) return
    this.#gotFirstByte = true
    callHook(trace, 'gotFirstResponseByte')
  }

  onRequestSent(): void {
    // No info object per request unless someone listens.
    const trace = this.#call.trace
    if (trace?.wroteRequest !== undefined) callHook(trace, 'wroteRequest', {})
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    return this.onHead(statusCode, rawHeaders, resume, statusText)
  }

  /**
   * onHead takes a response head (`pairs` is `[name, value, …]`, strings or
   * undici's latin1 buffers, each converted once): an interim one is
   * reported and skipped; a final one resolves the call with its Response.
   * `resume` asks the connection for more body bytes.
   */
  onHead(statusCode: number, pairs: ReadonlyArray<string | Buffer>, resume: () => void, statusText: string): boolean {
    const call = this.#call
    if (statusCode < 200 && statusCode >= 100 && statusCode !== 101) {
      // An interim response: skip it and wait for the final one (Go's Got1xxResponse).
      const trace = call.trace
      if (trace?.got1xxResponse !== undefined) {
        const status = this.#conn.takeInterimStatus(statusCode)
        callHook(trace, 'got1xxResponse', { status, headers: headersOf(pairs) })
      }
      return true
    }
    // A status a Response cannot hold: createResponse throws its coded error,
    // undici aborts the request with it and the conn is closed.
    if (statusCode < 200 || statusCode > 599) createResponse(null, { status: statusCode, url: call.what })
    const nullBody = call.method === 'HEAD' || isNullBodyStatus(statusCode)
    // The exchange is the body's producer (its pull and cancel methods): no closures per response.
    const body = nullBody ? undefined : createBody(this, this.#options.bodyOptions)
    // One pass: each name and value is made a string once (undici's buffers
    // are views on the socket's read: they are not kept) and read here for
    // what the connection and the decoder need. The response's Headers is
    // built from the list only if someone reads it (core's rawHeaders).
    const conn = this.#conn
    const raw = new Array<string>(pairs.length)
    let contentEncoding: string | null = null
    for (let i = 0; i < pairs.length; i += 2) {
      const name = latin1(pairs[i]!)
      const value = latin1(pairs[i + 1]!)
      if (name.length === 10) applyConnHeader(conn, name.toLowerCase(), value)
      else if (name.length === 16 && name.toLowerCase() === 'content-encoding') {
        contentEncoding = contentEncoding === null ? value : `${contentEncoding}, ${value}`
      }
      raw[i] = name
      raw[i + 1] = value
    }
    // Without a body, the response carries a shared frozen hold (core's bodyHold): whether the conn was reused, at no cost per response.
    const hold = body === undefined ? conn.pool.bodilessHold(conn.requests > 1) : undefined
    const response = createResponse(body === undefined ? null : body.body, { status: statusCode, statusText, url: stripFragment(call.href), type: 'basic', rawHeaders: raw, hold })
    if (body !== undefined) {
      const sink = body.sink
      this.#sink = sink
      this.#resume = resume
      // Layers above learn from the body itself which pool it pins, and when it let go (core's bodyHold).
      sink.hold(conn.pool.key, conn.requests > 1)
      if (contentEncoding !== null && !this.#options.disableCompression && getContext(call.request).decompress !== false) this.#decode(contentEncoding, sink, resume)
      this.#arm('body')
    } else this.#disarm()
    this.#responded = true
    call.respond(response)
    return true
  }

  /** decode puts a decoder for `contentEncoding` (if it names one) between the connection and `sink`; a refused chain fails the body it was made for, and the request. */
  #decode(contentEncoding: string, sink: BodySink, resume: () => void): void {
    let decoder: Transform | undefined
    try {
      decoder = createDecoder(contentEncoding, this.#call.what)
    } catch (error) {
      sink.error(error)
      throw error
    }
    if (decoder === undefined) return
    this.#decoder = decoder
    this.#pipeDecoder(decoder, contentEncoding, sink, resume)
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
      const failure = decodingError(error, contentEncoding, this.#call.what)
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
        `response body larger than maxResponseBodySize (${max} bytes, decoded) (${this.#call.what})`,
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
    this.#owner.release(this.#conn, this.#call.trace)
    // Released, not ended: a decoder may hand over output long after.
    this.#sink?.release()
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
    const call = this.#call
    const signal = call.signal
    const aborted = signal.aborted && (error === signal.reason || !this.#responded)
    const failure = aborted ? signal.reason : mapError(error, call.what, this.#options, this.#responded)
    this.#owner.discard(this.#conn, failure instanceof Error ? failure : error, call.trace)
    this.#sink?.release()
    if (!this.#responded) {
      // `#abort` is set by onConnect: undici started the request.
      const resend = aborted ? undefined : shouldResend(error, this.#conn.requests > 1, this.#abort !== undefined, call.retry, call.replays)
      if (resend === 'replay') call.replays++
      this.#owner.failed(call, resend === undefined ? failure : new StaleConnError(failure as Error))
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
    const watching = this.#watching
    if (watching !== undefined) {
      this.#watching = undefined
      unwatchAbort(this.#call.signal, this, watching)
    }
  }
}

function noop(): void {}

