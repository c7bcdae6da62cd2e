import { setMaxListeners } from 'node:events'
import { callSignal, getContext, undiciDispatch, type CallSignal, type Closable, type RequestContext, type RoundTripper, type UndiciDispatchable } from '@roundtrip/core'
import { PersistConn, type Holder } from './conn.js'
import { ConnList } from './conn-list.js'
import { connDead, decConnsPerHost, dialConnFor, discard, putIdleOrDeliver, release, serveH2, type PoolHost } from './pool-policy.js'
import { ERR_INVALID_REQUEST, ERR_TRANSPORT_CLOSED, requestLabel, TransportError } from './errors.js'
import { callPromise, newCall, sendCall, type Call } from './call.js'
import { requestBodyError } from './errors-map.js'
import { Exchange, type ConnOwner, type ExchangeConn } from './exchange.js'
import { StaleConnError } from './retry-policy.js'
import { H2Conn, type H2ConnEvents } from './h2-conn.js'
import { H2Lease } from './h2-stream.js'
import { takeConn, takeStream } from './lease.js'
import type { TransportOptions } from './options.js'
import { resolveOptions, type ResolvedOptions } from './resolve-options.js'
import type { HostPool } from './pool.js'
import { Routes } from './route.js'
import { ConnWaiter, type Got, type WaiterOwner } from './waiter.js'
import { NO_BODY, prepareBody, type OutgoingBody } from './request-body.js'
import { poolStats, retire, type RetiredCounts, type TransportStats } from './stats.js'
import { waitTimeoutError } from './deadlines.js'
import type { Clock } from './clock.js'
import { callHook, reportStaleRetry, type ClientTrace } from './trace.js'
import { sameTurn } from './turn.js'
import { startDebug } from './debug.js'
import { DirectDispatch, type DispatchPort } from './direct-dispatch.js'
import { dispatchDirect } from './dispatch.js'
import type { DirectInput, LegacyHandler } from './dispatch-input.js'

/** The most times one request is sent again after HTTP/2 servers refused it unprocessed (GOAWAY, REFUSED_STREAM). */
const MAX_UNPROCESSED_REPLAYS = 5

/**
 * Transport is the pooled RoundTripper: it owns keep-alive connections per
 * `scheme://host:port` and reuses them, as Go's `http.Transport` does. An
 * HTTP/1.1 connection is an undici `Client` (pipelining 1) on a socket the
 * Transport dials; an HTTP/2 connection (ALPN `h2`, or `h2c` with prior
 * knowledge, see the `protocols` option) is a `node:http2` session carrying
 * up to the server's `SETTINGS_MAX_CONCURRENT_STREAMS` requests at once. The
 * pool, its limits, the FIFO wait queue and the accounting are the
 * Transport's.
 *
 * The response body belongs to the caller: read it to the end or cancel it.
 * The connection goes back to the pool as soon as the server has sent the
 * whole body (even before it is read), and is closed when the body is
 * cancelled, errors, or is garbage-collected unread.
 *
 * @example
 * ```ts
 * const transport = new Transport({ maxConnsPerHost: 8 })
 * const response = await transport.roundTrip(new Request('http://127.0.0.1:8080/'))
 * console.log(response.status, await response.text(), transport.stats().total)
 * await transport.close()
 * ```
 */
export class Transport implements RoundTripper, Closable, UndiciDispatchable {
  readonly #options: ResolvedOptions
  readonly #clock: Clock
  readonly #routes: Routes
  readonly #pools: Map<string, HostPool>
  /** Every idle conn across hosts, least recently used first (for maxIdleConns). */
  readonly #idleLru = new ConnList()
  readonly #closing = new AbortController()
  readonly #retired: RetiredCounts = { dials: 0, requests: 0, reusedRequests: 0 }
  #closed = false
  /** Calls that take a conn released in this turn once it has ended (see {@link #afterTurn}). */
  #turnCalls: Array<Call | DirectDispatch> = []
  #drained: (() => void) | undefined
  readonly #onDead = (conn: PersistConn, reason: string): void => connDead(this.#host, conn, reason)
  readonly #h2Events: H2ConnEvents = {
    dead: (conn, reason) => connDead(this.#host, conn, reason),
    // New SETTINGS or a GOAWAY: waiters may take streams now, or need a dial.
    changed: (conn) => serveH2(this.#host, conn.pool),
  }
  /** What exchanges and waiters call back: kept off the public surface (and the published `.d.ts`). */
  readonly #owner: ConnOwner & WaiterOwner = {
    release: (conn, trace) => release(this.#host, conn, trace),
    discard: (conn, error, trace) => discard(this.#host, conn, error, trace),
    failed: (call, conn, error) => this.#failed(call, conn, error),
    deliverTo: (pool, conn, holder, trace, wasIdle) => this.#deliverTo(pool, conn, holder, trace, wasIdle),
  }
  /** What the pool policy (pool-policy.ts) uses of the Transport; made in the constructor, after the options. */
  readonly #host: PoolHost
  /** What a direct undici dispatch (dispatch.ts) uses of the pool. */
  readonly #port: DispatchPort = {
    closed: () => this.#closed,
    route: (origin, href, method) => this.#routes.route(origin, href, method),
    getConn: (dispatch) => this.#getConn(dispatch),
    release: (conn, trace) => release(this.#host, conn, trace),
    discard: (conn, error, trace) => discard(this.#host, conn, error, trace),
  }

  /** @throws TransportError `RT_INVALID_OPTION` when an option is invalid. */
  constructor(options?: TransportOptions) {
    this.#options = resolveOptions(options)
    this.#clock = this.#options.clock
    this.#routes = new Routes(this.#options.proxy, this.#options.proxyTunnel, this.#options.protocols)
    this.#pools = this.#routes.pools
    this.#host = {
      options: this.#options,
      closing: this.#closing.signal,
      h2Events: this.#h2Events,
      onDead: this.#onDead,
      closed: () => this.#closed,
      clock: this.#clock,
      idleLru: this.#idleLru,
      forgetIfEmpty: (pool) => this.#forgetIfEmpty(pool),
      checkDrained: () => this.#checkDrained(),
    }
    startDebug()
    // Every dial listens on this signal; their number is bounded by the pool, not by 10.
    setMaxListeners(0, this.#closing.signal)
  }

  /**
   * roundTrip sends one request and resolves with its response, following
   * the RoundTripper contract of `@roundtrip/core` (no redirects, any status
   * is a success, the caller owns the body). It rejects with a
   * {@link TransportError} (see its codes), or with `request.signal.reason`
   * when the signal aborts — or the reason of the signal a layer above
   * attached for the call (core's `callSignal`: a deadline).
   */
  roundTrip(request: Request): Promise<Response> {
    if (!(request instanceof Request)) {
      return Promise.reject(new TypeError('Transport.roundTrip: expected a Request'))
    }
    const signal = callSignal(request)
    if (signal.aborted) return Promise.reject(signal.reason)
    // Read once: the getter serializes the URL on every read. Messages name
    // the request (`requestLabel`) only when one is written.
    const href = request.url
    // A Request's URL is serialized: scheme://host[:port]/path — no credentials allowed.
    const slash = href.indexOf('/', href.indexOf('//') + 2)
    let pool: HostPool
    try {
      if (this.#closed) throw new TransportError(ERR_TRANSPORT_CLOSED, `transport is closed (${requestLabel(request.method, href)})`)
      pool = this.#routes.route(slash < 0 ? href : href.slice(0, slash), href, request.method)
    } catch (error) {
      return Promise.reject(error)
    }
    const context = getContext(request)
    // Bodies that are available at once are collected first (content-length, replayable).
    if (request.body === null) return this.#start(request, href, pool, slash, NO_BODY, context, signal)
    return prepareBody(request, context.streamedBody === true).then(
      (body) => this.#start(request, href, pool, slash, body, context, signal),
      (error: unknown) => Promise.reject(requestBodyError(error, requestLabel(request.method, href))),
    )
  }

  /** start makes the call of `request` once its body is prepared, and sends it. */
  #start(request: Request, href: string, pool: HostPool, slash: number, body: OutgoingBody, context: Readonly<RequestContext>, signal: CallSignal): Promise<Response> {
    const call = newCall(request, href, pool, slash, body, context, signal, this.#options)
    const response = callPromise(call)
    try {
      this.#send(call)
    } catch (error) {
      call.fail(error)
    }
    return response
  }

  /**
   * The undici fast path (core's `UndiciDispatchable`, used by
   * `@roundtrip/undici`'s `toDispatcher` of a bare Transport): runs an undici
   * dispatch on a conn of this pool (an HTTP/2 conn's stream included) — the
   * same pool, limits, wait queue, timeouts, proxy and stats as `roundTrip` — without a `Request` or
   * a `Response`, and hands the bytes to `handler` undecoded. `options` are
   * undici's `DispatchOptions`, `handler` a legacy-generation undici handler
   * (the one Node's fetch and `undici.request` pass). Returns false
   * (touching nothing) for what it does not take: an upgrade, `CONNECT`, a
   * `FormData` or `Blob` body, a method or body a `Request` refuses
   * (`TRACE`, a GET body), a handler of undici 7's generation, undici's
   * `query` for an origin whose conns are (or may be) HTTP/2. `trace` (a {@link ClientTrace}) is
   * called for the dispatch as a request's trace is (see dispatch.ts).
   */
  [undiciDispatch](options: object, handler: object, trace?: object): boolean {
    return dispatchDirect(this.#port, this.#options, options as DirectInput, handler as LegacyHandler, trace as ClientTrace | undefined)
  }

  /** send gets a conn for the call and dispatches it there. */
  #send(call: Call): void {
    const got = this.#getConn(call)
    if (got === undefined) return
    if (got instanceof Promise) got.then((c) => this.#dispatch(call, c), call.reject)
    else this.#dispatch(call, got)
  }

  #dispatch(call: Call, conn: Got): void {
    sendCall(call, conn, new Exchange(call, conn, this.#owner, this.#options))
  }

  /** failed (ConnOwner): `call`'s exchange on `conn` failed before a response. */
  #failed(call: Call, conn: ExchangeConn, error: unknown): void {
    if (!(error instanceof StaleConnError)) return call.fail(error)
    // A reused conn the server had closed, or an HTTP/2 stream it never processed: try another (Go's shouldRetryRequest).
    const replays = conn instanceof H2Lease ? ++call.replays : 0
    if (this.#closed || call.signal.aborted || replays > MAX_UNPROCESSED_REPLAYS) return call.fail(error.failure)
    reportStaleRetry(call.pool.key, call.what, error.failure)
    this.#send(call)
  }

  /** forgetIfEmpty drops a pool with no conns and no waiters (see {@link Routes.forget}); its counters stay in the totals. */
  #forgetIfEmpty(pool: HostPool): void {
    if (this.#routes.forget(pool)) retire(this.#retired, pool)
  }

  /**
   * getConn returns an idle conn (most recently used first) or a free stream
   * of an HTTP/2 conn, or waits for a dialed or freed one; or it returns
   * undefined when the call takes a conn at the end of the turn (see
   * {@link #afterTurn}), and is dispatched then.
   */
  #getConn(call: Call | DirectDispatch): Got | Promise<Got> | undefined {
    // The pool may have emptied and left the map since the call found it (while its body was prepared, or a turn was awaited).
    if (call.pool.removed) call.pool = this.#routes.poolFor(call.pool.method)
    const { pool, trace } = call
    if (trace !== undefined) callHook(trace, 'getConn', pool.key)
    const now = this.#clock.now()
    if (pool.protocol === 'h2') {
      const conn = pool.h2Available()
      if (conn !== undefined) return takeStream(pool, conn, call.holder, trace, now, this.#options.disableKeepAlives)
    }
    for (let conn = pool.idle.pop(); conn !== undefined; conn = pool.idle.pop()) {
      this.#idleLru.delete(conn)
      if (conn.closed) continue
      if (conn.expired(now)) {
        conn.close('idle timeout')
        continue
      }
      if (sameTurn(conn.releaseTurn)) return this.#afterTurn(call, conn)
      takeConn(pool, conn, call.holder, trace, true, now)
      return conn
    }
    return new Promise<Got>((resolve, reject) => {
      const waiter = new ConnWaiter(this.#owner, pool, call.holder, trace, call.signal, Transport.#handOver(this, call, resolve), reject)
      pool.enqueue(waiter)
      if (!pool.waitsForStreams(this.#options.http2.strictMaxConcurrentStreams) && (this.#options.maxConnsPerHost === 0 || pool.conns < this.#options.maxConnsPerHost)) {
        dialConnFor(this.#host, pool, waiter, trace)
        return
      }
      pool.dialQueue.push(waiter)
      // The waiting Request (none for an undici dispatch), so a layer above knows which of its calls waits, until `dequeued`.
      waiter.queued(call instanceof DirectDispatch ? undefined : call.request)
      if (this.#options.maxWaitTime > 0) {
        waiter.expireAfter(this.#clock, this.#options.maxWaitTime, () => waitTimeoutError(pool, this.#options, call.what, this.#clock.now()))
      }
    })
  }

  /**
   * handOver is what the waiter of `call` resolves with the conn it is
   * handed: a conn released in the current turn (the waiter is served as the
   * response before it ends) is sent on once the turn has ended, as one
   * taken from the idle list (see {@link #afterTurn}); the wait's promise
   * then stays pending, unused. Made by a function: see Exchange's abort
   * listener. The call is let go once handed over: a settled waiter may stay
   * in its pool's queue a while, and must not keep the call's response alive.
   */
  static #handOver(transport: Transport, call: Call | DirectDispatch, resolve: (got: Got) => void): (got: Got) => void {
    let waiting: Call | DirectDispatch | undefined = call
    return (got) => {
      const handed = waiting!
      waiting = undefined
      if (got instanceof PersistConn && sameTurn(got.releaseTurn)) transport.#afterTurn(handed, got)
      else resolve(got)
    }
  }

  /**
   * afterTurn has `call` take `conn`, released in the current turn, once the
   * turn has ended (see turn.ts): if the server closed it or sent unasked-for
   * bytes meanwhile, it is gone, and the call looks for another conn. The
   * calls of a turn wait in one list, taken by one `setImmediate` (at c64
   * nearly every request comes here: no promise or timer per request). A
   * waiter's call comes here with the conn already taken (counted as its).
   */
  #afterTurn(call: Call | DirectDispatch, conn: PersistConn): undefined {
    call.turnConn = conn
    if (this.#turnCalls.push(call) === 1) setImmediate(Transport.#takeAfterTurn, this)
    return undefined
  }

  static #takeAfterTurn(transport: Transport): void {
    const calls = transport.#turnCalls
    transport.#turnCalls = []
    for (const call of calls) {
      const conn = call.turnConn!
      call.turnConn = undefined
      // Handed to the call as a waiter (busy, its holder the call's), or still in no list since it left the idle one.
      const taken = conn.holder === call.holder
      if (transport.#closed) {
        conn.close('transport closed')
        call.reject(new TransportError(ERR_TRANSPORT_CLOSED, `transport is closed (${call.what})`))
      } else if (call.signal.aborted) {
        if (taken) release(transport.#host, conn, undefined)
        else if (!conn.closed) putIdleOrDeliver(transport.#host, conn.pool, conn)
        call.reject(call.signal.reason)
      } else if (!conn.closed) {
        if (!taken) takeConn(call.pool, conn, call.holder, call.trace, true, transport.#clock.now())
        if (call instanceof DirectDispatch) call.send(conn)
        else transport.#dispatch(call, conn)
      } else if (call instanceof DirectDispatch) call.acquire()
      else transport.#send(call)
    }
  }

  /** deliverTo (WaiterOwner): a waiter receives a conn (an HTTP/2 one: a stream of it). */
  #deliverTo(pool: HostPool, conn: PersistConn | H2Conn, holder: Holder, trace: ClientTrace | undefined, wasIdle: boolean): Got {
    const now = this.#clock.now()
    return conn instanceof H2Conn ? takeStream(pool, conn, holder, trace, now, this.#options.disableKeepAlives) : takeConn(pool, conn, holder, trace, wasIdle, now)
  }

  /** closeIdleConnections closes every idle connection now; busy ones are left alone. */
  closeIdleConnections(): void {
    for (const conn of this.#idleLru.toArray()) conn.close('closeIdleConnections')
    for (const pool of [...this.#pools.values()]) for (const conn of [...pool.h2]) if (conn.streams === 0) conn.close('closeIdleConnections')
  }

  /**
   * close stops the transport: new requests reject with
   * `RT_TRANSPORT_CLOSED`, waiting requests reject with it, idle connections
   * close, dials in progress are abandoned, and in-flight responses finish,
   * their connections closing after them. Resolves when no connection is
   * left. An unread, uncancelled body keeps it pending: cancel it, or call
   * {@link destroy}.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#closing.abort()
      for (const pool of this.#pools.values()) {
        for (const waiter of pool.drain()) {
          waiter.fail(new TransportError(ERR_TRANSPORT_CLOSED, `transport closed while waiting for a connection to ${pool.key}`))
        }
      }
      this.closeIdleConnections()
    }
    if (this.#openConns() === 0) return Promise.resolve()
    return new Promise((resolve) => {
      this.#drained = thenCall(this.#drained, resolve)
    })
  }

  /** destroy closes the transport and every connection now, failing in-flight requests and bodies. */
  destroy(): void {
    void this.close()
    for (const pool of this.#pools.values()) {
      for (const conn of pool.busy.toArray()) conn.close('transport destroyed')
      for (const conn of [...pool.h2]) conn.close('transport destroyed')
    }
  }

  /** Same as {@link close}, for `await using transport = new Transport()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  #openConns(): number {
    let n = 0
    for (const pool of this.#pools.values()) n += pool.conns
    return n
  }

  #checkDrained(): void {
    if (this.#drained !== undefined && this.#closed && this.#openConns() === 0) {
      const done = this.#drained
      this.#drained = undefined
      done()
    }
  }

  /** stats returns a snapshot of every pool and their sum; see {@link TransportStats}. */
  stats(): TransportStats {
    return poolStats(this.#pools, this.#retired, this.#clock.now())
  }
}

/** thenCall returns a callback that calls `first` (if any), then `next`; a function, not a literal assigned to a field, which V8 would pretenure. */
function thenCall(first: (() => void) | undefined, next: () => void): () => void {
  return () => {
    first?.()
    next()
  }
}
