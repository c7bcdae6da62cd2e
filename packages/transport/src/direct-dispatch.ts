import { CallAbortController, neverAborted, redactUrl, rethrowLater, systemCause, type UndiciWaitingDispatch, type UndiciWaitingList } from '@roundtrip/core'
import { errors } from 'undici'
import type { Acquirer } from './acquirer.js'
import type { PersistConn } from './conn.js'
import { applyConnHeaders, armStage, PRECISE_BODY, PRECISE_HEAD, type Stage, type StageDeadline, type StageLimits, type StageOwner } from './deadlines.js'
import type { DirectPort } from './direct-port.js'
import { ERR_RESPONSE_TOO_LARGE, requestLabel, TransportError } from './errors.js'
import { mapError } from './errors-map.js'
import type { ExchangeConn } from './exchange.js'
import { H2Lease } from './h2-stream.js'
import { headersOf } from './headers.js'
import type { HostPool } from './pool.js'
import { discard, release } from './pool-policy.js'
import { callHook, reportStaleRetry, type ClientTrace } from './trace.js'
import type { OutgoingBody } from './request-body.js'
import type { ConnWaiter, Got } from './waiter.js'
import { shouldResend, type RetryPolicy } from './retry-policy.js'
import { latin1Buffers, type DirectRequest, type LegacyHandler } from './dispatch-input.js'

// The handler side of the undici fast path (see direct-port.ts for the entry):
// a DirectDispatch waits for a conn of its pool, runs the dispatch on it and
// gives the conn (or the HTTP/2 stream) back at the end.

/**
 * DirectDispatch is one dispatch on the fast path: the handler its conn's
 * undici Client calls, the signal its wait for a conn listens to, the abort
 * its caller's handler holds, and, for a dispatcher's dispatch (core's
 * `undiciDispatch` given `waiting`), its entry in the dispatcher's list of
 * dispatches waiting for a head, from its start to its final head or its end.
 *
 * States: waiting for a conn → sent on `#conn` (undici calls `onConnect`,
 * then the head and the body) → settled (the caller's handler heard
 * `onComplete` or `onError`, once, through {@link DirectDispatch.#settle}).
 * A reused conn that fails before the caller's handler was handed any head
 * (a 1xx one included) is given up and the dispatch waits for another:
 * any dispatch undici had not started on it (nothing was written), a started
 * one when it is replayable (bounded); see retry-policy.ts's `shouldResend`.
 */
export class DirectDispatch extends CallAbortController implements Acquirer, StageOwner, UndiciWaitingDispatch {
  readonly #port: DirectPort
  readonly #handler: LegacyHandler
  /** The pool the dispatch takes a conn from (the Transport looks up the live one if it left the map). */
  pool: HostPool
  /** The request method and URL (credentials in it are redacted wherever it is shown). */
  readonly method: string
  readonly href: string
  /** When the dispatch got its conn (the transport's clock), for {@link Holder}'s ages. */
  since = 0
  /** The dispatch's trace hooks: those its dispatcher gave (an undici dispatch has no request context to carry any). */
  readonly trace: ClientTrace | undefined
  /** An idle conn released in the current turn, taken once the turn has ended (see transport.ts). */
  turnConn: PersistConn | undefined = undefined
  /** The waiter of a dial raced against that wait (see transport.ts), until the race is decided. */
  race: ConnWaiter | undefined = undefined
  /** What the conn's Client is sent; dropped at the end ({@link DirectDispatch.#drop}). */
  #request: DirectRequest | undefined
  /** When it is sent again after a reused conn failed under it (retry-policy.ts); its body can be sent again unless `never`. */
  readonly #retry: RetryPolicy
  /** Times it was replayed (retry-policy.ts's shouldResend: at most MAX_REPLAYS). */
  #replays = 0
  /** The conn (HTTP/1.1) or the stream of one (HTTP/2) the dispatch is sent on. */
  #conn: Got | undefined
  readonly #authority: string
  /** The trace heard `gotFirstResponseByte` (once, as Go's: undici tells every head, interim ones too). */
  #gotFirstByte = false
  /** The conn's Client's abort for this request, once it called onConnect. */
  #abortSent: ((error: Error) => void) | undefined
  #responded = false
  /** The caller's handler was handed a head (a 1xx one too): the dispatch is not sent again after that. */
  #headed = false
  #settled = false
  /** `aborted`, kept here: read at each step, where the controller's getter is a call (its parent is neverAborted, so it is this alone). */
  #down = false
  #bodyBytes = 0
  /** Our header or body deadline, for limits under 1 s and the dispatch's own (see deadlines.ts's armStage); made on first use. */
  #deadline: StageDeadline | undefined
  /** The dispatch's own `headersTimeout` and `bodyTimeout`, when it gave any. */
  readonly #limits: StageLimits | undefined
  /** The dispatcher's list of dispatches waiting for their head (core's UndiciWaitingList), when it gave one: its failures are then a dispatcher's (systemCause). */
  readonly #waiting: UndiciWaitingList | undefined
  /** Its place in {@link #waiting}, which the list keeps (-1 outside it: UndiciWaitingDispatch). */
  slot = -1

  constructor(
    port: DirectPort,
    handler: LegacyHandler,
    pool: HostPool,
    href: string,
    request: DirectRequest,
    retry: RetryPolicy,
    authority: string,
    trace: ClientTrace | undefined,
    waiting: UndiciWaitingList | undefined,
    limits: StageLimits | undefined,
  ) {
    // Only the caller's handler aborts a dispatch (through the callback onConnect hands it): its parent is core's neverAborted.
    super(neverAborted)
    this.#port = port
    this.#handler = handler
    this.pool = pool
    this.method = request.method
    this.href = href
    this.#request = request
    this.#retry = retry
    this.#authority = authority
    this.trace = trace
    this.#waiting = waiting
    this.#limits = limits
  }

  /** `METHOD url` with credentials removed, for messages: made when one is written, not per dispatch (as the Call's). */
  get what(): string {
    return requestLabel(this.method, this.href)
  }

  /** The request URL with credentials removed ({@link Holder}): read by stats and errors only. */
  get url(): string {
    return redactUrl(this.href)
  }

  /**
   * start joins the dispatcher's waiting list, tells the caller's handler the
   * dispatch started (its abort is live from now on, as undici's is while a
   * request is queued) and looks for a conn.
   */
  start(): void {
    this.#waiting?.add(this)
    try {
      this.#handler.onConnect?.((reason?: Error) => this.abort(reason))
    } catch (error) {
      this.abort(error as Error)
      rethrowLater(error)
    }
    if (this.#down) return this.#settle(this.reason as Error)
    this.#port.acquire(this, false)
  }

  /**
   * abort (the controller's, and UndiciWaitingDispatch's) aborts the
   * dispatch with `reason` (undici's `RequestAbortedError` by default), once
   * and only before it ended; the caller's abort callback, a throwing
   * handler and the dispatcher's `destroy()` call it. Sent, the Client fails
   * the request (our onError); waiting, the waiter fails (the signal's
   * listeners, called as core's controller calls them); otherwise the next
   * step sees `aborted`.
   */
  override abort(reason: unknown = new errors.RequestAbortedError()): void {
    if (this.#down || this.#settled) return
    this.#halt(reason)
    this.#abortSent?.(reason as Error)
  }

  /** halt aborts the dispatch's signal with `reason`, not its Client's request (yet). */
  #halt(reason: unknown): void {
    this.#down = true
    super.abort(reason)
  }

  /** fail (Acquirer) fails the dispatch before it was sent (no conn: the Transport closed, the wait failed, or it was aborted while it waited). */
  fail(error: unknown): void {
    this.#settle(error as Error)
  }

  /** send sends the dispatch on the conn it got: to its undici Client (HTTP/1.1), or on a new stream of it (HTTP/2, h2-stream.ts). */
  send(got: Got): void {
    if (this.#down) {
      release(this.#port.host, got, this.trace)
      return this.#settle(this.reason as Error)
    }
    this.#conn = got
    const request = this.#request!
    if (!(got instanceof H2Lease)) return void got.client.dispatch(request as never, this as never)
    const body = { body: request.body as OutgoingBody['body'], replayable: this.#retry !== 'never' }
    got.send({ method: request.method, authority: this.#authority, path: request.path, headers: request.headers, body }, this)
  }

  // The legacy handler undici's Client calls, and the StreamHandler an HTTP/2 stream calls (onHead for onHeaders).

  onConnect(abort: (error?: Error) => void): void {
    this.#abortSent = abort as (error: Error) => void
    this.#conn!.acceptUnsolicited100()
    if (this.#down) abort(this.reason as Error)
    // armStage, when it has a deadline to arm or disarm.
    else if ((this.#port.precise & PRECISE_HEAD) !== 0 || this.#deadline !== undefined || this.#limits !== undefined) this.#arm('head')
  }

  onResponseStarted(): void {
    if (this.trace !== undefined && !this.#gotFirstByte) {
      this.#gotFirstByte = true
      callHook(this.trace, 'gotFirstResponseByte')
    }
    try {
      this.#handler.onResponseStarted?.()
    } catch (error) {
      this.#handlerThrew(error)
    }
  }

  onRequestSent(): void {
    if (this.#down) return
    if (this.trace?.wroteRequest !== undefined) callHook(this.trace, 'wroteRequest', {})
    try {
      this.#handler.onRequestSent?.()
    } catch (error) {
      this.#writeHandlerThrew(error)
    }
  }

  onBodySent(chunk: unknown): void {
    if (this.#down) return
    try {
      this.#handler.onBodySent?.(chunk)
    } catch (error) {
      this.#writeHandlerThrew(error)
    }
  }

  /**
   * writeHandlerThrew is {@link handlerThrew} for a throw from a call made
   * while the request is written. Over HTTP/1.1 undici's Client makes it from
   * inside its write, which must return before the conn is torn down (its
   * queue would be left inconsistent: an assertion of undici's throws from
   * the socket's close). So the dispatch is aborted now (the handler hears
   * no more of the write) and its Client told a microtask later.
   */
  #writeHandlerThrew(error: unknown): void {
    if (this.#conn instanceof H2Lease) return void this.#handlerThrew(error)
    if (this.#down || this.#settled) return
    this.#halt(error instanceof Error ? error : new Error(String(error)))
    queueMicrotask(() => this.#abortSent?.(this.reason as Error))
  }

  /**
   * An HTTP/2 stream's head (`[name, value, …]` strings): read for the
   * connection's headers as strings, then handed on as undici's own HTTP/2
   * client does, latin1 Buffers.
   */
  onHead(statusCode: number, pairs: string[], resume: () => void, statusText: string): boolean {
    return this.onHeaders(statusCode, latin1Buffers(pairs), resume, statusText, pairs)
  }

  /**
   * onHeaders hands a head on to the caller's handler: an interim one as it
   * is, a final one with the connection's headers read (from `sent`: what
   * the conn gave, strings for an HTTP/2 stream) and the body deadline armed.
   */
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string, sent: Buffer[] | string[] = rawHeaders): boolean {
    this.#headed = true
    if (statusCode < 200) {
      const status = this.#conn!.takeInterimStatus(statusCode)
      if (this.trace?.got1xxResponse !== undefined) callHook(this.trace, 'got1xxResponse', { status, headers: headersOf(rawHeaders) })
      try {
        return this.#handler.onHeaders?.(status, rawHeaders, resume, statusText) !== false
      } catch (error) {
        return this.#handlerThrew(error)
      }
    }
    applyConnHeaders(this.#conn!, sent)
    this.#responded = true
    // A final head: the dispatcher's destroy() no longer fails it, and a streaming response is not kept by the dispatcher.
    if (this.slot >= 0) this.#waiting!.delete(this)
    if ((this.#port.precise & PRECISE_BODY) !== 0 || this.#deadline !== undefined || this.#limits !== undefined) this.#arm('body')
    // With a precise body deadline, a resume starts its clock again (it stops while the caller pauses).
    let more: boolean | undefined
    try {
      more = this.#handler.onHeaders?.(statusCode, rawHeaders, this.#deadline === undefined ? resume : DirectDispatch.#resumer(this, resume), statusText)
    } catch (error) {
      return this.#handlerThrew(error)
    }
    if (more === false) this.#deadline?.disarm()
    return more !== false
  }

  static #resumer(dispatch: DirectDispatch, resume: () => void): () => void {
    return () => {
      if (!dispatch.#settled) dispatch.#arm('body')
      resume()
    }
  }

  onData(chunk: Buffer): boolean {
    const max = this.#port.options.maxResponseBodySize
    if (max > 0 && (this.#bodyBytes += chunk.length) > max) {
      this.#abortSent!(new TransportError(ERR_RESPONSE_TOO_LARGE, `response body larger than maxResponseBodySize (${max} bytes) (${this.what})`))
      return false
    }
    this.#deadline?.refresh()
    let more: boolean | undefined
    try {
      more = this.#handler.onData?.(chunk)
    } catch (error) {
      return this.#handlerThrew(error)
    }
    if (more === false) this.#deadline?.disarm()
    return more !== false
  }

  /**
   * handlerThrew fails the dispatch with what one of the caller's handler
   * calls threw (onRequestSent, onBodySent, onResponseStarted, onHeaders,
   * onData): its onError hears that error once and nothing after, the conn
   * is discarded (an HTTP/2 stream is reset: its exchange was not finished).
   * It is not thrown again, as undici's own Request does not (an interceptor
   * that refuses a response, undici's decompress(), throws from its
   * callbacks: thrown again, it was an uncaught exception); nor into
   * undici's parser or the HTTP/2 stream's driver, which would fail the
   * request with their own error instead (or leave the stream open).
   */
  #handlerThrew(error: unknown): false {
    this.abort(error instanceof Error ? error : new Error(String(error)))
    return false
  }

  /** An HTTP/2 stream listens for trailers for this handler: a legacy handler takes them in onComplete. */
  get takesTrailers(): boolean {
    return true
  }

  /** The response ended: undici's Client hands the trailers as latin1 Buffers, an HTTP/2 stream as strings (handed on as Buffers, as for the head). */
  onComplete(trailers?: Buffer[] | string[] | null): void {
    this.#deadline?.disarm()
    release(this.#port.host, this.#conn!, this.trace)
    this.#conn = undefined
    this.#drop()
    if (this.#settled) return
    this.#settled = true
    // Left at its head already, as a rule.
    if (this.slot >= 0) this.#waiting!.delete(this)
    try {
      this.#handler.onComplete?.(trailers === undefined || trailers === null ? [] : typeof trailers[0] === 'string' ? latin1Buffers(trailers as string[]) : trailers)
    } catch (error) {
      // As undici's Request: what onComplete throws goes to the handler's onError (undici's retry() interceptor throws
      // there to retry a 500), thrown again only if that throws too.
      try {
        this.#handler.onError!(error as Error)
      } catch (thrown) {
        rethrowLater(thrown)
      }
    }
  }

  onError(error: Error): void {
    this.#deadline?.disarm()
    const conn = this.#conn!
    this.#conn = undefined
    const sent = this.#abortSent !== undefined
    this.#abortSent = undefined
    const aborted = this.#down && (error === this.reason || !this.#responded)
    const failure = aborted ? (this.reason as Error) : mapError(error, this.what, this.#port.options, this.#responded)
    // Refused before it started (an invalid header, a conn already dead): nothing was written, the conn is as it was.
    if (sent) discard(this.#port.host, conn, failure, this.trace)
    else release(this.#port.host, conn, this.trace)
    // A reused conn the server had closed, an HTTP/2 stream it never processed: try another, as roundTrip does; the caller's handler heard nothing of it.
    const resend = this.#headed || aborted || this.#port.host.closed() ? undefined : shouldResend(error, conn.requests > 1, sent, this.#retry, this.#replays)
    if (resend !== undefined) {
      if (resend === 'replay') this.#replays++
      reportStaleRetry(this.pool.key, this.what, failure)
      this.#port.acquire(this, true)
      return
    }
    this.#settle(failure)
  }

  /** settle fails the dispatch once (a complete one settles in onComplete): with `error`, or as a dispatcher's fails (core's systemCause) given `waiting`. */
  #settle(error: Error): void {
    if (this.#settled) return
    this.#settled = true
    this.#drop()
    const waiting = this.#waiting
    if (this.slot >= 0) waiting!.delete(this)
    try {
      this.#handler.onError!(waiting === undefined ? error : (systemCause(error) as Error))
    } catch (thrown) {
      rethrowLater(thrown)
    }
  }

  /**
   * drop lets go, at the end, of what the dispatch needs no more: the
   * request it sent and the abort of the conn's Client (which holds undici's
   * request). Node's fetch keeps the abort handed to its onConnect (and so
   * this dispatch) alive until a full GC: whatever the dispatch still holds
   * then outlives young GCs and is promoted (about 0.6 KB a request).
   */
  #drop(): void {
    this.#request = undefined
    this.#abortSent = undefined
  }

  /** timedOut (StageOwner): our header or body deadline passed. */
  timedOut(error: Error): void {
    this.#abortSent?.(error)
  }

  #arm(stage: Stage): void {
    this.#deadline = armStage(this.#deadline, stage, this.#port.options, this, this.#limits)
  }
}
