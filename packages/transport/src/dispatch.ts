import { redactUrl, rethrowLater, type CallSignal } from '@roundtrip/core'
import { errors } from 'undici'
import type { Holder, PersistConn } from './conn.js'
import { requestTarget } from './call.js'
import { applyConnHeader, bodyTimeoutError, Deadline, headersTimeoutError, preciseLimit } from './deadlines.js'
import { ERR_PROTOCOL, ERR_RESPONSE_TOO_LARGE, ERR_TRANSPORT_CLOSED, TransportError } from './errors.js'
import { isSocketFailure, mapError } from './errors-map.js'
import type { ExchangeConn } from './exchange.js'
import { H2Lease } from './h2-stream.js'
import { outgoingHeaders } from './headers.js'
import type { HostPool } from './pool.js'
import type { ResolvedOptions } from './resolve-options.js'
import { channels } from './trace.js'
import type { Got } from './waiter.js'
import { isIdempotencyKey, isIdempotentMethod } from './retry-policy.js'
import { directBody, headerPairs, type DirectInput, type DirectRequest, type LegacyHandler } from './dispatch-input.js'

// The undici fast path (core's `UndiciDispatchable`): an undici dispatch
// (Node's fetch, `undici.request`, through `@roundtrip/undici`) runs on an
// HTTP/1.1 conn of the Transport's pool with no WHATWG Request or Response
// in between. The conn is leased as for a roundTrip (same pool, limits,
// queue, maxWaitTime, proxy, dial, stats); the dispatch goes to the conn's
// undici Client with a DirectDispatch as its handler, which hands everything
// on to the caller's handler and gives the conn back to the pool at the end.

/** What a direct dispatch uses of its Transport (kept off the public surface). */
export interface DispatchPort {
  closed(): boolean
  route(origin: string, href: string, method: string): HostPool
  /** A conn for `dispatch` now, or later (a promise), or undefined: at the end of the turn the Transport calls `send`, `acquire` or `reject` (see transport.ts's afterTurn). */
  getConn(dispatch: DirectDispatch): Got | Promise<Got> | undefined
  release(conn: ExchangeConn): void
  discard(conn: ExchangeConn, error: Error): void
}

/** The most times one dispatch is sent again after a reused conn turned out stale (as roundTrip's HTTP/2 replays). */
const MAX_STALE_REPLAYS = 5

/** CONNECT (a tunnel, not a request), and the methods a WHATWG Request refuses: left to the Request path. */
const REFUSED_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])

/**
 * dispatchDirect runs undici dispatch `input` for `handler` on the pool
 * behind `port`, and returns true; or returns false without touching
 * `handler` when the dispatch is not one for this path (see the Transport's
 * `[undiciDispatch]`).
 */
export function dispatchDirect(port: DispatchPort, options: ResolvedOptions, input: DirectInput, handler: LegacyHandler): boolean {
  if (typeof handler !== 'object' || handler === null || typeof handler.onError !== 'function' || typeof handler.onRequestStart === 'function') return false
  const method = input.method
  const path = input.path
  if (typeof method !== 'string' || REFUSED_METHODS.has(method) || typeof path !== 'string' || path.charCodeAt(0) !== 47 /* / */) return false
  if (input.upgrade !== undefined && input.upgrade !== null && input.upgrade !== false) return false
  const raw = input.origin
  const origin = typeof raw === 'string' ? (raw.endsWith('/') ? raw.slice(0, -1) : raw) : raw instanceof URL ? raw.origin : undefined
  if (origin === undefined) return false
  const href = origin + path
  const what = `${method} ${redactUrl(href)}`
  const body = directBody(input.body, what)
  // What roundTrip cannot take either is left to the Request path, which refuses it: a bare Transport and a stack behave alike.
  if (body === undefined || (body.body !== null && (method === 'GET' || method === 'HEAD'))) return false
  if (port.closed()) {
    handler.onError!(new TransportError(ERR_TRANSPORT_CLOSED, `transport is closed (${what})`))
    return true
  }
  let pool: HostPool
  try {
    pool = port.route(origin, href, method)
  } catch (error) {
    handler.onError!(error as Error)
    return true
  }
  // HTTP/2 conns (or an origin whose first TLS handshake has not told yet) take the Request path.
  if (pool.protocol !== 'http1') return false
  const pairs = headerPairs(input.headers)
  const headers = outgoingHeaders(pairs, options, false)
  const slash = href.indexOf('/', href.indexOf('//') + 2)
  if (pool.method.forward) pool.method.forwardHeaders(headers, href.slice(href.indexOf('//') + 2, slash))
  // The Request path's `stale` retry policy (retry-policy.ts).
  const replayable = body.replayable && (isIdempotentMethod(method) || pairs.some(([name]) => isIdempotencyKey(name)))
  const request: DirectRequest = {
    path: requestTarget(href, slash, pool.method.forward),
    method,
    headers: headers.list,
    body: body.body,
    query: input.query,
    reset: headers.reset || input.reset === true,
    blocking: false,
  }
  new DirectDispatch(port, options, handler, pool, what, request, replayable).start()
  return true
}

/**
 * DirectDispatch is one dispatch on the fast path: the handler its conn's
 * undici Client calls, the signal its wait for a conn listens to, and the
 * abort its caller's handler holds.
 *
 * States: waiting for a conn → sent on `#conn` (undici calls `onConnect`,
 * then the head and the body) → settled (the caller's handler heard
 * `onComplete` or `onError`, once, through {@link DirectDispatch.#settle}).
 * A reused conn that fails before the caller's handler was handed any head
 * (a 1xx one included) is given up and the dispatch waits for another
 * (replayable requests only, bounded).
 */
export class DirectDispatch implements CallSignal {
  readonly #port: DispatchPort
  readonly #options: ResolvedOptions
  readonly #handler: LegacyHandler
  /** The pool the dispatch takes a conn from (the Transport looks up the live one if it left the map). */
  pool: HostPool
  /** `METHOD url` with credentials removed, for messages. */
  readonly what: string
  /** What a conn it holds says holds it (stats()). */
  readonly holder: Holder
  /** No trace hooks: an undici dispatch has no request context to carry them. */
  readonly trace: undefined = undefined
  /** An idle conn released in the current turn, taken once the turn has ended (see transport.ts). */
  turnConn: PersistConn | undefined = undefined
  readonly #request: DirectRequest
  readonly #replayable: boolean
  #replays = 0
  #conn: PersistConn | undefined
  /** The conn's Client's abort for this request, once it called onConnect. */
  #abortSent: ((error: Error) => void) | undefined
  #responded = false
  /** The caller's handler was handed a head (a 1xx one too): the dispatch is not sent again after that. */
  #headed = false
  #settled = false
  #bodyBytes = 0
  /** Our header or body deadline, for limits under 1 s only (see exchange.ts); made on first use. */
  #deadline: Deadline | undefined
  #stage: 'head' | 'body' = 'head'
  #listeners: Array<() => void> | undefined
  aborted = false
  reason: Error | undefined

  constructor(
    port: DispatchPort,
    options: ResolvedOptions,
    handler: LegacyHandler,
    pool: HostPool,
    what: string,
    request: DirectRequest,
    replayable: boolean,
  ) {
    this.#port = port
    this.#options = options
    this.#handler = handler
    this.pool = pool
    this.what = what
    this.holder = { method: request.method, url: what.slice(request.method.length + 1), since: 0 }
    this.#request = request
    this.#replayable = replayable
  }

  /** What aborts the wait for a conn: the dispatch itself (a CallSignal). */
  get signal(): CallSignal {
    return this
  }

  // CallSignal, for the wait for a conn (the pool's waiter listens while the dispatch is queued).
  addEventListener(_type: 'abort', listener: () => void): void {
    ;(this.#listeners ??= []).push(listener)
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners?.indexOf(listener) ?? -1
    if (i >= 0) this.#listeners!.splice(i, 1)
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason
  }

  /** start tells the caller's handler the dispatch started (its abort is live from now on, as undici's is while a request is queued) and looks for a conn. */
  start(): void {
    try {
      this.#handler.onConnect?.(DirectDispatch.#abortOf(this))
    } catch (error) {
      this.#abort(error as Error)
      rethrowLater(error)
    }
    if (this.aborted) return this.#settle(this.reason!)
    this.acquire()
  }

  static #abortOf(dispatch: DirectDispatch): (reason?: Error) => void {
    return (reason) => dispatch.#abort(reason)
  }

  #abort(reason: Error | undefined): void {
    if (this.aborted || this.#settled) return
    this.aborted = true
    this.reason = reason ?? new errors.RequestAbortedError()
    // Sent: the Client fails the request (our onError). Waiting: the waiter fails (the listeners). Otherwise the next step sees `aborted`.
    if (this.#abortSent !== undefined) return this.#abortSent(this.reason)
    const listeners = this.#listeners
    this.#listeners = undefined
    if (listeners !== undefined) for (const listener of listeners) listener()
  }

  /** acquire gets a conn for the dispatch and sends it there (now, once one is free, or at the end of the turn). */
  acquire(): void {
    let got: Got | Promise<Got> | undefined
    try {
      got = this.#port.getConn(this)
    } catch (error) {
      return this.#settle(error as Error)
    }
    if (got instanceof Promise) got.then(DirectDispatch.#sendTo(this), DirectDispatch.#failTo(this))
    else if (got !== undefined) this.send(got)
  }

  /** reject fails the dispatch before it was sent (the Transport closed, or the dispatch was aborted, while it waited for the turn to end). */
  reject(error: unknown): void {
    this.#settle(error as Error)
  }

  static #sendTo(dispatch: DirectDispatch): (got: Got) => void {
    return (got) => dispatch.send(got)
  }

  static #failTo(dispatch: DirectDispatch): (error: unknown) => void {
    return (error) => dispatch.#settle(error as Error)
  }

  /** send sends the dispatch on the conn it got. */
  send(got: Got): void {
    if (got instanceof H2Lease) {
      // The origin's conns turned HTTP/2 while this dispatch waited (a later dial negotiated h2): this path speaks HTTP/1.1 only.
      this.#port.release(got)
      return this.#settle(new TransportError(ERR_PROTOCOL, `the connection to ${this.pool.key} became HTTP/2 while the dispatch waited; send it again (${this.what})`))
    }
    if (this.aborted) {
      this.#port.release(got)
      return this.#settle(this.reason!)
    }
    this.#conn = got
    got.client.dispatch(this.#request as never, this as never)
  }

  // The legacy handler undici's Client calls.

  onConnect(abort: (error?: Error) => void): void {
    this.#abortSent = abort as (error: Error) => void
    this.#conn!.acceptUnsolicited100()
    if (this.aborted) abort(this.reason)
    else this.#arm('head')
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.()
  }

  onRequestSent(): void {
    this.#handler.onRequestSent?.()
  }

  onBodySent(chunk: unknown): void {
    this.#handler.onBodySent?.(chunk)
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    const conn = this.#conn!
    this.#headed = true
    if (statusCode < 200) {
      try {
        return this.#handler.onHeaders?.(conn.takeInterimStatus(statusCode), rawHeaders, resume, statusText) !== false
      } catch (error) {
        return this.#handlerThrew(error)
      }
    }
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!
      if (name.length !== 10) continue
      applyConnHeader(conn, name.toString('latin1').toLowerCase(), rawHeaders[i + 1]!.toString('latin1'))
    }
    this.#responded = true
    this.#arm('body')
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
    const max = this.#options.maxResponseBodySize
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
   * handlerThrew fails the dispatch with what the caller's onHeaders or
   * onData threw (its onError hears that error, the conn is discarded: its
   * response was not read to the end) and throws it again in a microtask,
   * as the Request path does; not into undici's parser, which would close
   * the conn with its own error instead.
   */
  #handlerThrew(error: unknown): false {
    this.#abort(error instanceof Error ? error : new Error(String(error)))
    rethrowLater(error)
    return false
  }

  onComplete(trailers: Buffer[] | string[] | null): void {
    this.#deadline?.disarm()
    this.#port.release(this.#conn!)
    this.#conn = undefined
    if (this.#settled) return
    this.#settled = true
    try {
      this.#handler.onComplete?.(trailers)
    } catch (error) {
      rethrowLater(error)
    }
  }

  onError(error: Error): void {
    this.#deadline?.disarm()
    const conn = this.#conn!
    this.#conn = undefined
    const sent = this.#abortSent !== undefined
    this.#abortSent = undefined
    const aborted = this.aborted && (error === this.reason || !this.#responded)
    const failure = aborted ? this.reason! : mapError(error, this.what, this.#options, this.#responded)
    // Refused before it started (an invalid header, a conn already dead): nothing was written, the conn is as it was.
    if (sent) this.#port.discard(conn, failure)
    else this.#port.release(conn)
    if (!this.#headed && !aborted && this.#replayable && conn.requests > 1 && isSocketFailure(error) && !this.#port.closed() && ++this.#replays <= MAX_STALE_REPLAYS) {
      // A reused conn the server had closed (Go's shouldRetryRequest): try another; the caller's handler heard nothing of it.
      if (channels.staleRetry.hasSubscribers) channels.staleRetry.publish({ key: this.pool.key, request: this.what, error: failure })
      this.acquire()
      return
    }
    this.#settle(failure)
  }

  /** settle fails the dispatch once (a complete one settles in onComplete). */
  #settle(error: Error): void {
    if (this.#settled) return
    this.#settled = true
    try {
      this.#handler.onError!(error)
    } catch (thrown) {
      rethrowLater(thrown)
    }
  }

  /** undici runs header and body timeouts on its coarse timers (about 1 s); a limit under a second gets a precise deadline of ours (as exchange.ts). */
  #arm(stage: 'head' | 'body'): void {
    this.#stage = stage
    const ms = preciseLimit(stage === 'head' ? this.#options.responseHeaderTimeout : this.#options.bodyTimeout)
    if (ms === 0) return this.#deadline?.disarm()
    this.#deadline ??= new Deadline(this.#options.clock, DirectDispatch.#expiry(this), true)
    this.#deadline.arm(ms)
  }

  static #expiry(dispatch: DirectDispatch): () => void {
    return () => {
      const options = dispatch.#options
      dispatch.#abortSent?.(
        dispatch.#stage === 'head' ? headersTimeoutError(options.responseHeaderTimeout, dispatch.what) : bodyTimeoutError(options.bodyTimeout, dispatch.what),
      )
    }
  }
}
