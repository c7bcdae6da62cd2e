import { setMaxListeners } from 'node:events'
import { callSignal, getContext, declareRoundTripThen, kRejectsOnAbort, reactWith, undiciDispatch, type CallSignal, type Closable, type RequestContext, type RoundTripContinuation, type RoundTripper, type UndiciDispatchable, type UndiciWaitingList } from '@roundtrip/core'
import type { Acquirer } from './acquirer.js'
import { PersistConn } from './conn.js'
import { ConnList } from './conn-list.js'
import { TurnQueue } from './after-turn.js'
import { connDead, decConnsPerHost, dialConnFor, dialWon, discard, idleConnFor, raceDial, release, serveH2, waitAtLimit, type PoolHost } from './pool-policy.js'
import { ERR_INVALID_REQUEST, ERR_TRANSPORT_CLOSED, requestLabel, TransportError } from './errors.js'
import { callPromise, newCall, type Call } from './call.js'
import { requestBodyError } from './errors-map.js'
import type { ConnOwner } from './exchange.js'
import { StaleConnError } from './retry-policy.js'
import { H2Conn, type H2ConnEvents } from './h2-conn.js'
import { takeConn, takeStream } from './lease.js'
import type { TransportOptions } from './options.js'
import { resolveOptions, type ResolvedOptions } from './resolve-options.js'
import type { HostPool } from './pool.js'
import { Routes } from './route.js'
import { ConnWaiter, type Got, type WaiterOwner } from './waiter.js'
import { NO_BODY, prepareBody, type OutgoingBody } from './request-body.js'
import { poolStats, retire, type RetiredCounts, type TransportStats } from './stats.js'
import type { Clock } from './clock.js'
import { callHook, reportStaleRetry, type ClientTrace } from './trace.js'
import { sameTurn } from './turn.js'
import { startDebug } from './debug.js'
import { DirectPort } from './direct-port.js'
import { contextLimits, type StageLimits } from './deadlines.js'
import type { DirectInput, LegacyHandler } from './dispatch-input.js'

/**
 * Transport is the pooled RoundTripper: it owns keep-alive connections per
 * `scheme://host:port` and reuses them, as Go's `http.Transport` does. An
 * HTTP/1.1 connection is an undici `Client` (pipelining 1) on a socket the
 * Transport dials; an HTTP/2 connection (ALPN `h2`, or `h2c` with prior
 * knowledge, see the `protocols` option) is a `node:http2` session carrying
 * up to the server's `SETTINGS_MAX_CONCURRENT_STREAMS` requests at once. The
 * pool, its limits, the wait queue (FIFO, requests sent again at its head)
 * and the accounting are the
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
  /**
   * It rejects at once with the call signal's reason when that signal aborts,
   * at every stage before the response (core's `kRejectsOnAbort`): waiting in
   * the queue, dialing, sending, waiting for the head. A getter (on the
   * prototype): a spread copy does not inherit it.
   */
  get [kRejectsOnAbort](): true {
    return true
  }
  readonly #options: ResolvedOptions
  readonly #clock: Clock
  readonly #routes: Routes
  readonly #pools: Map<string, HostPool>
  /** Every idle conn across hosts, least recently used first (for maxIdleConns). */
  readonly #idleLru = new ConnList()
  readonly #closing = new AbortController()
  readonly #retired: RetiredCounts = { dials: 0, requests: 0, reusedRequests: 0 }
  #closed = false
  /** Requests that take a conn released in this turn once it has ended (after-turn.ts). */
  readonly #turns: TurnQueue
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
    failed: (call, error) => this.#failed(call, error),
    handOver: (acquirer, pool, conn, wasIdle) => this.#handOver(acquirer, pool, conn, wasIdle),
    dialWon: (acquirer) => dialWon(this.#host, acquirer),
  }
  /** What the pool policy (pool-policy.ts) uses of the Transport; made in the constructor, after the options. */
  readonly #host: PoolHost
  /** The undici fast path's entry, and what its dispatches use of the Transport (direct-port.ts); made in the constructor, after the pool host. */
  readonly #direct: DirectPort

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
    this.#turns = new TurnQueue({
      host: this.#host,
      now: () => this.#clock.now(),
      sendOn: (acquirer, conn) => this.#sendOn(acquirer, conn),
      resend: (acquirer) => this.#send(acquirer, true),
    })
    this.#direct = new DirectPort(this.#host, this.#routes, (acquirer, resent) => this.#send(acquirer, resent))
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
    return this.#roundTrip(request, undefined)
  }

  /**
   * core's `kRoundTripThen` (declared with `declareRoundTripThen`, for
   * {@link roundTrip}: non-enumerable, so a spread copy does not get it,
   * and ignored once `roundTrip` is replaced on an instance): roundTrip with
   * the reaction of the layer above (`k`) applied where the call settles, so
   * that a stack over the Transport reacts to nothing in between. One of
   * `k.received` (the response) and `k.failed` (what roundTrip would reject
   * with) is called, once, from a microtask after the call settles, as a
   * `.then` would (see call.ts's Call.react): never before the method
   * returned. Every guarantee of roundTrip holds.
   */
  static {
    declareRoundTripThen(Transport.prototype, function (this: Transport, request: Request, k: RoundTripContinuation): Promise<Response> {
      return this.#roundTrip(request, k)
    })
  }

  #roundTrip(request: Request, k: RoundTripContinuation | undefined): Promise<Response> {
    if (!(request instanceof Request)) {
      return rejected(new TypeError('Transport.roundTrip: expected a Request'), k)
    }
    const signal = callSignal(request)
    if (signal.aborted) return rejected(signal.reason, k)
    // Read once: the getter serializes the URL on every read. Messages name
    // the request (`requestLabel`) only when one is written.
    const href = request.url
    // A Request's URL is serialized: scheme://host[:port]/path — no credentials allowed.
    const slash = href.indexOf('/', href.indexOf('//') + 2)
    let pool: HostPool
    const context = getContext(request)
    // The request's own header and body limits (its context's; rare): checked here, where a bad one rejects.
    let limits: StageLimits | undefined
    try {
      if (this.#closed) throw new TransportError(ERR_TRANSPORT_CLOSED, `transport is closed (${requestLabel(request.method, href)})`)
      pool = this.#routes.route(slash < 0 ? href : href.slice(0, slash), href, request.method)
      if (context.responseHeaderTimeout !== undefined || context.bodyTimeout !== undefined) limits = contextLimits(context, request.method, href)
    } catch (error) {
      return rejected(error, k)
    }
    // Bodies that are available at once are collected first (content-length, replayable).
    if (request.body === null) return this.#start(request, href, pool, slash, NO_BODY, context, signal, k, limits)
    return prepareBody(request, context.streamedBody === true).then(
      (body) => this.#start(request, href, pool, slash, body, context, signal, k, limits),
      (error: unknown) => {
        const failure = requestBodyError(error, requestLabel(request.method, href))
        // A reaction already: k reacts here.
        return k === undefined ? Promise.reject(failure) : k.failed(failure)
      },
    )
  }

  /** start makes the call of `request` once its body is prepared, and sends it; `k` reacts where it settles. */
  #start(request: Request, href: string, pool: HostPool, slash: number, body: OutgoingBody, context: Readonly<RequestContext>, signal: CallSignal, k: RoundTripContinuation | undefined, limits: StageLimits | undefined): Promise<Response> {
    const call = newCall(request, href, pool, slash, body, context, signal, this.#options, this.#owner)
    call.limits = limits
    call.k = k
    const response = callPromise(call)
    this.#send(call)
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
   * called for the dispatch as a request's trace is (see direct-port.ts).
   * `waiting` (a dispatcher's list, `toDispatcher`'s) is joined while the
   * dispatch waits for its head, and makes its errors an undici
   * dispatcher's (core's `systemCause`): see core's `UndiciDispatchable`.
   */
  [undiciDispatch](options: object, handler: object, trace?: object, waiting?: UndiciWaitingList): boolean {
    return this.#direct.dispatch(options as DirectInput, handler as LegacyHandler, trace as ClientTrace | undefined, waiting)
  }

  /**
   * send gets `acquirer` a conn and sends it there: now (an idle conn, a free
   * HTTP/2 stream), once the turn has ended (after-turn.ts), or once
   * one is dialed or freed (its waiter hands it over, {@link #handOver}).
   * What throws fails the request. `resent`: sent again after its conn failed under it (it keeps its place: pool.ts's enqueue).
   */
  #send(acquirer: Acquirer, resent = false): void {
    try {
      const got = this.#getConn(acquirer, resent)
      if (got !== undefined) acquirer.send(got)
    } catch (error) {
      acquirer.fail(error)
    }
  }

  /** failed (ConnOwner): `call`'s exchange failed before a response. */
  #failed(call: Call, error: unknown): void {
    if (!(error instanceof StaleConnError)) return call.fail(error)
    // A reused conn the server had closed, or an HTTP/2 stream it never processed: try another (retry-policy.ts's shouldResend, bounded there).
    if (this.#closed || call.signal.aborted) return call.fail(error.failure)
    reportStaleRetry(call.pool.key, call.what, error.failure)
    this.#send(call, true)
  }

  /** forgetIfEmpty drops a pool with no conns and no waiters (see {@link Routes.forget}); its counters stay in the totals. */
  #forgetIfEmpty(pool: HostPool): void {
    if (this.#routes.forget(pool)) retire(this.#retired, pool)
  }

  /**
   * getConn returns an idle conn ready now (most recently used first, see
   * pool-policy.ts's idleConnFor) or a free stream of an HTTP/2 conn; or it
   * returns undefined when `acquirer` takes a conn released in this turn
   * once the turn has ended (after-turn.ts; a dial may race that
   * wait: pool-policy.ts's raceDial), or waits for a dialed or freed one (a
   * {@link ConnWaiter}, which hands it over).
   */
  #getConn(acquirer: Acquirer, resent: boolean): Got | undefined {
    // The pool may have emptied and left the map since the request found it (while its body was prepared, or a turn was awaited).
    if (acquirer.pool.removed) acquirer.pool = this.#routes.poolFor(acquirer.pool.method)
    const trace = acquirer.trace
    let pool = acquirer.pool
    if (trace !== undefined) callHook(trace, 'getConn', pool.key)
    const now = this.#clock.now()
    if (pool.protocol === 'h2') {
      const conn = pool.h2Available()
      if (conn !== undefined) return takeStream(pool, conn, acquirer, trace, now, this.#options.disableKeepAlives)
    }
    const idle = pool.idle.length === 0 ? undefined : idleConnFor(this.#host, pool, now)
    if (idle !== undefined) {
      if (!sameTurn(idle.releaseTurn)) return takeConn(pool, idle, acquirer, trace, true, now)
      raceDial(this.#host, this.#owner, acquirer, pool)
      return this.#turns.add(acquirer, idle)
    }
    // Closing the expired idle conns (idleConnFor) may have emptied the pool and removed it from the map: wait and dial in the live one.
    if (pool.removed) pool = acquirer.pool = this.#routes.poolFor(pool.method)
    // A wait hears an abort from here on (waiter.ts): one before (while the body was prepared) fails the request now, not once a conn comes.
    if (acquirer.signal.aborted) throw acquirer.signal.reason
    const waiter = new ConnWaiter(this.#owner, acquirer, false, resent)
    pool.enqueue(waiter)
    if (!pool.waitsForStreams(this.#options.http2.strictMaxConcurrentStreams) && (this.#options.maxConnsPerHost === 0 || pool.conns < this.#options.maxConnsPerHost)) {
      // A raced dial whose race is over brings a conn nobody waits for: wait for it rather than dial another (if it fails, this waiter gets a dial: dialConnFor).
      // Only instead of a dial: at the limit the request queues, announced and under maxWaitTime (pool-policy.ts's waitAtLimit, as a claimant whose spare conn served an earlier waiter), and the spare conn serves the queue.
      const race = pool.raceDial
      if (race?.spare === true) {
        race.spare = false
        race.claimant = waiter
        return undefined
      }
      dialConnFor(this.#host, pool, waiter, trace)
      return undefined
    }
    pool.queueForDial(waiter)
    waitAtLimit(this.#host, pool, waiter)
    return undefined
  }

  /**
   * handOver (WaiterOwner): the waiter of `acquirer` is delivered `conn`,
   * which the request takes (an HTTP/2 conn: a stream of it) and is sent on;
   * a conn released in the current turn (the waiter is served as the
   * response before it ends) is sent on once the turn has ended, as one taken
   * from the idle list (after-turn.ts).
   */
  #handOver(acquirer: Acquirer, pool: HostPool, conn: PersistConn | H2Conn, wasIdle: boolean): void {
    const now = this.#clock.now()
    if (conn instanceof H2Conn) return this.#sendOn(acquirer, takeStream(pool, conn, acquirer, acquirer.trace, now, this.#options.disableKeepAlives))
    takeConn(pool, conn, acquirer, acquirer.trace, wasIdle, now)
    if (sameTurn(conn.releaseTurn)) this.#turns.add(acquirer, conn)
    else this.#sendOn(acquirer, conn)
  }

  /** sendOn sends `acquirer` on `got`; what throws fails the request. */
  #sendOn(acquirer: Acquirer, got: Got): void {
    try {
      acquirer.send(got)
    } catch (error) {
      acquirer.fail(error)
    }
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

/** rejected is the rejection of a call that fails before it starts: with `k` applied from a reaction, when there is one (core's reactWith). */
function rejected(error: unknown, k: RoundTripContinuation | undefined): Promise<Response> {
  return reactWith(Promise.reject(error), k)
}

/** thenCall returns a callback that calls `first` (if any), then `next`; a function, not a literal assigned to a field, which V8 would pretenure. */
function thenCall(first: (() => void) | undefined, next: () => void): () => void {
  return () => {
    first?.()
    next()
  }
}
