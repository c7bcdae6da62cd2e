import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2'
import { constants } from 'node:http2'
import type { ConnList } from './conn-list.js'
import type { Holder } from './conn.js'
import { bodyTimeoutError, headersTimeoutError } from './deadlines.js'
import type { ExchangeConn } from './exchange.js'
import type { H2Conn } from './h2-conn.js'
import type { HostPool } from './pool.js'
import { closeError, requestError, requestHeaders, responsePairs } from './h2-wire.js'
import type { OutgoingBody } from './request-body.js'

const NO_SOCKET = Object.freeze({})
// Node copies the options of `session.request()`: one object serves every stream.
const END_STREAM = Object.freeze({ endStream: true })
const OPEN_STREAM = Object.freeze({ endStream: false })

/** The lease driving a stream, kept on the stream: one set of listeners (static methods) serves every stream. */
const LEASE = Symbol('roundtrip.h2Lease')
type LeasedStream = ClientHttp2Stream & { [LEASE]: H2Lease }

/**
 * What a stream's coarse deadline watches (see {@link H2Lease.checkDeadline}):
 * nothing, the response head, the body (the server owes bytes), or a body
 * paused for its reader (the gap is the reader's: no deadline).
 */
const WATCH_NONE = 0
const WATCH_HEAD = 1
const WATCH_BODY = 2
const WATCH_PAUSED = 3

/** What a stream sends: the request line's parts, the Transport's header list and the prepared body. */
export interface StreamRequest {
  method: string
  /** `:authority`: `host[:port]` as the URL has it. */
  authority: string
  path: string
  headers: string[]
  body: OutgoingBody
}

/**
 * StreamHandler is what a stream's response is told to, in the order undici
 * tells a dispatch handler for HTTP/1.1: `onConnect` (with the abort), then
 * `onRequestSent`, the heads (`onResponseStarted` before the final one;
 * interim ones through `onHead` too), the body chunks (false pauses the
 * stream until `resume`), then one of `onComplete` or `onError`. The
 * Transport's Exchange is one; so is a direct undici dispatch (direct-dispatch.ts).
 */
export interface StreamHandler {
  onConnect(abort: (error?: Error) => void): void
  onRequestSent(): void
  onResponseStarted(): void
  /** A head: `pairs` is `[name, value, …]` without the pseudo-headers. */
  onHead(statusCode: number, pairs: string[], resume: () => void, statusText: string): boolean
  onData(chunk: Buffer): boolean
  /** The response ended; `trailers` (`[name, value, …]`) when the handler {@link takesTrailers} and the server sent some. */
  onComplete(trailers?: string[]): void
  onError(error: Error): void
  /** A chunk of the request body was written to the stream (as undici's HTTP/2 client tells `onBodySent`); a handler without it is told nothing. */
  onBodySent?(chunk: Uint8Array): void
  /** Whether the handler takes the response's trailers (in {@link onComplete}): the stream listens for them only then. */
  readonly takesTrailers?: boolean
}

/**
 * H2Lease is one stream of an {@link H2Conn} held by one request: what its
 * Exchange sees as the connection, and the driver of the `node:http2`
 * stream under it, as undici drives an exchange for HTTP/1.1: the head, body
 * chunks (the stream pauses when the body's queue is full, so the server is
 * held back by the stream's flow-control window), the end, or one failure.
 * Releasing it gives the stream back; the conn stays.
 *
 * Per request it allocates this object and the two functions an Exchange
 * takes (abort, resume); the stream's listeners are static methods shared
 * by every stream. The conn keeps its leases in a {@link ConnList} linked
 * through them (nothing allocated to hold or release a stream).
 * Header and body limits of 1 s and more are checked by the conn's sweep
 * ({@link checkDeadline}, about 1 s of resolution, as undici's timers for
 * HTTP/1.1); shorter ones run on the Exchange's precise timer.
 */
export class H2Lease implements ExchangeConn {
  /** HTTP/2 streams have no socket of their own: nothing tells whether bytes of this one were written. */
  readonly socket = NO_SOCKET
  reusable = true
  idleLimit = 0
  readonly conn: H2Conn
  readonly holder: Holder
  /** The conn's request count when this one started: more than 1 means the conn was reused. */
  readonly requests: number
  /** The conn's list of held streams while this one is held, and its neighbours there. */
  list: ConnList<H2Lease> | undefined = undefined
  listPrev: H2Lease | undefined = undefined
  listNext: H2Lease | undefined = undefined
  #stream: ClientHttp2Stream | undefined = undefined
  #exchange: StreamHandler | undefined = undefined
  #isHead = false
  #settled = false
  #responded = false
  #streamError: Error | undefined = undefined
  /** The response's trailers, for a handler that takes them. */
  #trailers: string[] | undefined = undefined
  /** The body length the head announced (-1: none), and the bytes that came. */
  #expected = -1
  #received = 0
  #watch = WATCH_NONE
  /** Body bytes arrived since the last sweep: the body deadline moves on. */
  #progressed = false
  /** When the body deadline passes (the conn's clock); set by the sweep. */
  #bodyDeadline = 0

  constructor(conn: H2Conn, holder: Holder, requests: number) {
    this.conn = conn
    this.holder = holder
    this.requests = requests
  }

  /** The conn's pool: the stream counts in it. */
  get pool(): HostPool {
    return this.conn.pool
  }

  acceptUnsolicited100(): void {}

  takeInterimStatus(status: number): number {
    return status
  }

  /**
   * send sends `request` on a new stream of the conn and drives `exchange`
   * with what comes back. A stream the server never processed
   * (`REFUSED_STREAM`, or above GOAWAY's last stream id) fails with
   * `H2_UNPROCESSED`, which the exchange replays on another conn.
   */
  send(request: StreamRequest, exchange: StreamHandler): void {
    const conn = this.conn
    const body = request.body.body
    this.#exchange = exchange
    this.#isHead = request.method === 'HEAD'
    let stream: ClientHttp2Stream
    try {
      const headers = requestHeaders(request.method, conn.scheme, request.authority, request.path, request.headers)
      stream = conn.session.request(headers, body === null ? END_STREAM : OPEN_STREAM)
    } catch (error) {
      this.#settled = true
      exchange.onError(requestError(error))
      return
    }
    this.#stream = stream
    ;(stream as LeasedStream)[LEASE] = this
    exchange.onConnect(H2Lease.#abortOf(this))
    if (this.#settled) return
    stream.on('headers', H2Lease.#onInterim)
    stream.on('response', H2Lease.#onResponse)
    stream.on('data', H2Lease.#onData)
    stream.on('end', H2Lease.#onEnd)
    stream.on('error', H2Lease.#onError)
    stream.on('close', H2Lease.#onClose)
    if (exchange.takesTrailers === true) stream.once('trailers', H2Lease.#onTrailers)
    if (conn.headLimit > 0) this.#watch = WATCH_HEAD
    if (body === null) exchange.onRequestSent()
    else if (Buffer.isBuffer(body)) {
      stream.on('finish', H2Lease.#onSent)
      stream.end(body)
      this.bodySent(body)
    } else {
      writeBody(stream, body, this).then(
        () => this.#sent(),
        (error: unknown) => this.#fail(error as Error),
      )
    }
  }

  /**
   * checkDeadline fails the stream when its head or body is late at `now`
   * (run by the conn's sweep about once a second). Body bytes since the last
   * sweep move the body deadline on; a body paused for its reader has none.
   */
  checkDeadline(now: number): void {
    const conn = this.conn
    if (this.#watch === WATCH_HEAD) {
      if (now - this.holder.since >= conn.headLimit) this.#fail(headersTimeoutError(conn.headLimit, this.#what()))
    } else if (this.#watch === WATCH_BODY) {
      if (this.#progressed) {
        this.#progressed = false
        this.#bodyDeadline = now + conn.bodyLimit
      } else if (now >= this.#bodyDeadline) this.#fail(bodyTimeoutError(conn.bodyLimit, this.#what()))
    }
  }

  #what(): string {
    return `${this.holder.method} ${this.holder.url}`
  }

  /** The Exchange's abort: reset the stream (`CANCEL`) and fail the exchange once. Made by a function (see no-pretenured-closures.test.ts). */
  static #abortOf(lease: H2Lease): (error?: Error) => void {
    return (error) => lease.#fail(error ?? new Error('aborted'))
  }

  /** The Exchange's resume: the reader wants more body bytes. */
  static #resumeOf(lease: H2Lease): () => void {
    return () => lease.#resume()
  }

  #resume(): void {
    if (this.#settled) return
    if (this.#watch === WATCH_PAUSED) {
      // The server owes bytes again: the body deadline restarts from the next sweep.
      this.#watch = WATCH_BODY
      this.#progressed = true
    }
    this.#stream!.resume()
  }

  #fail(error: Error): void {
    if (this.#settled) return
    this.#settled = true
    this.#watch = WATCH_NONE
    const stream = this.#stream
    if (stream !== undefined && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL)
    this.#exchange!.onError(error)
  }

  #sent(): void {
    if (!this.#settled) this.#exchange!.onRequestSent()
  }

  /** bodySent tells the handler a chunk of the request body was written. */
  bodySent(chunk: Uint8Array): void {
    if (!this.#settled) this.#exchange!.onBodySent?.(chunk)
  }

  #head(headers: IncomingHttpHeaders): void {
    if (this.#settled) return
    try {
      this.#exchange!.onHead(Number(headers[':status']), responsePairs(headers), H2Lease.#resumeOf(this), '')
    } catch (error) {
      this.#fail(error as Error)
    }
  }

  // The stream's listeners: `this` is the stream.

  /** An interim (1xx) head. */
  static #onInterim(this: LeasedStream, headers: IncomingHttpHeaders): void {
    this[LEASE].#head(headers)
  }

  static #onResponse(this: LeasedStream, headers: IncomingHttpHeaders): void {
    const lease = this[LEASE]
    lease.#exchange!.onResponseStarted()
    lease.#responded = true
    // Node ends a stream reset with NO_ERROR (or torn down with its session)
    // as if it were complete, so a short body is told by its length.
    const length = headers['content-length']
    if (length !== undefined && !lease.#isHead) lease.#expected = Number(length)
    if (!lease.#settled) {
      // The head is here; the body deadline starts from the next sweep.
      const watched = lease.conn.bodyLimit > 0
      lease.#watch = watched ? WATCH_BODY : WATCH_NONE
      lease.#progressed = watched
    }
    lease.#head(headers)
  }

  static #onData(this: LeasedStream, chunk: Buffer): void {
    const lease = this[LEASE]
    lease.#received += chunk.length
    lease.#progressed = true
    if (lease.#settled || lease.#exchange!.onData(chunk)) return
    this.pause()
    if (lease.#watch === WATCH_BODY) lease.#watch = WATCH_PAUSED
  }

  static #onEnd(this: LeasedStream): void {
    const lease = this[LEASE]
    if (lease.#settled) return
    const rst = this.rstCode ?? 0
    const expected = lease.#expected
    if (rst !== 0 || lease.conn.session.destroyed || (expected >= 0 && lease.#received !== expected)) {
      const short = `${lease.#received} of ${expected < 0 ? 'unknown' : expected} body bytes`
      return lease.#fail(closeError(this, lease.conn, lease.#streamError, lease.#responded, short))
    }
    lease.#settled = true
    lease.#watch = WATCH_NONE
    lease.#exchange!.onComplete(lease.#trailers)
  }

  /** The response's trailers (before its end), for a handler that takes them. */
  static #onTrailers(this: LeasedStream, trailers: IncomingHttpHeaders): void {
    this[LEASE].#trailers = responsePairs(trailers)
  }

  static #onError(this: LeasedStream, error: Error): void {
    this[LEASE].#streamError = error
  }

  static #onClose(this: LeasedStream): void {
    const lease = this[LEASE]
    if (!lease.#settled) lease.#fail(closeError(this, lease.conn, lease.#streamError, lease.#responded))
  }

  /** The request body (a Buffer) is written. */
  static #onSent(this: LeasedStream): void {
    this[LEASE].#sent()
  }
}

/** writeBody streams a request body into the stream, telling `lease` of each chunk written, and waits for the stream's flow-control window when it is full. */
async function writeBody(stream: ClientHttp2Stream, body: AsyncIterable<Uint8Array>, lease: H2Lease): Promise<void> {
  for await (const chunk of body) {
    // Closed: failed or aborted (a throwing onBodySent included), or the server ended the exchange.
    if (stream.destroyed || stream.closed) return
    const more = stream.write(chunk)
    lease.bodySent(chunk)
    if (!more) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off('drain', done)
          stream.off('close', done)
          resolve()
        }
        stream.on('drain', done)
        stream.on('close', done)
      })
    }
  }
  if (!stream.destroyed && !stream.closed) await new Promise<void>((resolve) => stream.end(resolve))
}
