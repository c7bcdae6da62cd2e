import { setMaxListeners } from 'node:events'
import { getContext, redactUrl, type Closable, type RoundTripper } from '@roundtrip/core'
import { PersistConn, type Holder } from './conn.js'
import { ConnList } from './conn-list.js'
import { dialConn } from './dial.js'
import { ERR_INVALID_REQUEST, ERR_TRANSPORT_CLOSED, TransportError } from './errors.js'
import { newCall, type Call } from './call.js'
import { requestBodyError } from './errors-map.js'
import { Exchange, StaleConnError, type ConnOwner } from './exchange.js'
import { resolveOptions, type ResolvedOptions, type TransportOptions } from './options.js'
import type { HostPool } from './pool.js'
import { Routes } from './route.js'
import { ConnWaiter, type WaiterOwner } from './waiter.js'
import { NO_BODY, prepareBody, type OutgoingBody } from './request-body.js'
import { poolStats, retire, type RetiredCounts, type TransportStats } from './stats.js'
import { waitTimeoutError } from './deadlines.js'
import type { Clock } from './clock.js'
import { callHook, channels, type ClientTrace } from './trace.js'
import { sameTurn } from './turn.js'
import { startDebug } from './debug.js'

/**
 * Transport is the pooled RoundTripper: it owns keep-alive HTTP/1.1
 * connections per `scheme://host:port` and reuses them, as Go's
 * `http.Transport` does. Each connection is an undici `Client` (pipelining
 * 1) on a socket the Transport dials; the pool, its limits, the FIFO wait
 * queue and the accounting are the Transport's.
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
export class Transport implements RoundTripper, Closable {
  readonly #options: ResolvedOptions
  readonly #clock: Clock
  readonly #routes: Routes
  readonly #pools: Map<string, HostPool>
  /** Every idle conn across hosts, least recently used first (for maxIdleConns). */
  readonly #idleLru = new ConnList()
  readonly #closing = new AbortController()
  readonly #retired: RetiredCounts = { dials: 0, requests: 0, reusedRequests: 0 }
  #closed = false
  #drained: (() => void) | undefined
  readonly #onDead = (conn: PersistConn, reason: string): void => this.#connDead(conn, reason)
  /** What exchanges and waiters call back: kept off the public surface (and the published `.d.ts`). */
  readonly #owner: ConnOwner & WaiterOwner = {
    release: (conn, trace) => this.#release(conn, trace),
    discard: (conn, error, trace) => this.#discard(conn, error, trace),
    deliverTo: (pool, conn, holder, trace, wasIdle) => this.#gotConn(pool, conn, holder, trace, wasIdle, this.#clock.now()),
  }

  /** @throws TransportError `RT_INVALID_OPTION` when an option is invalid. */
  constructor(options?: TransportOptions) {
    this.#options = resolveOptions(options)
    this.#clock = this.#options.clock
    this.#routes = new Routes(this.#options.proxy, this.#options.proxyTunnel)
    this.#pools = this.#routes.pools
    startDebug()
    // Every dial listens on this signal; their number is bounded by the pool, not by 10.
    setMaxListeners(0, this.#closing.signal)
  }

  /**
   * roundTrip sends one request and resolves with its response, following
   * the RoundTripper contract of `@roundtrip/core` (no redirects, any status
   * is a success, the caller owns the body). It rejects with a
   * {@link TransportError} (see its codes), or with `request.signal.reason`
   * when the signal aborts.
   */
  roundTrip(request: Request): Promise<Response> {
    if (!(request instanceof Request)) {
      return Promise.reject(new TypeError('Transport.roundTrip: expected a Request'))
    }
    const signal = request.signal
    if (signal.aborted) return Promise.reject(signal.reason)
    const href = request.url
    const what = `${request.method} ${redactUrl(href)}`
    // A Request's URL is serialized: scheme://host[:port]/path — no credentials allowed.
    const slash = href.indexOf('/', href.indexOf('//') + 2)
    let pool: HostPool
    try {
      if (this.#closed) throw new TransportError(ERR_TRANSPORT_CLOSED, `transport is closed (${what})`)
      pool = this.#routes.route(slash < 0 ? href : href.slice(0, slash), href, what)
    } catch (error) {
      return Promise.reject(error)
    }
    const context = getContext(request)
    const send = (body: OutgoingBody): Promise<Response> =>
      new Promise<Response>((resolve, reject) => {
        this.#send(newCall(request, pool, slash, what, body, context, this.#options, resolve, reject))
      })
    // Bodies that are available at once are collected first (content-length, replayable).
    if (request.body === null) return send(NO_BODY)
    return prepareBody(request, context.streamedBody === true).then(send, (error: unknown) => Promise.reject(requestBodyError(error, what)))
  }

  /** send gets a conn for the call and dispatches it there. */
  #send(call: Call): void {
    const conn = this.#getConn(call.pool, call.request, call.trace, call.what)
    if (conn instanceof PersistConn) this.#dispatch(call, conn)
    else conn.then((c) => this.#dispatch(call, c), call.reject)
  }

  #dispatch(call: Call, conn: PersistConn): void {
    const reject = (error: unknown): void => {
      if (!(error instanceof StaleConnError)) return call.reject(error)
      // A reused conn the server had closed: try another (Go's shouldRetryRequest).
      if (this.#closed || call.request.signal.aborted) return call.reject(error.failure)
      if (channels.staleRetry.hasSubscribers) channels.staleRetry.publish({ key: call.pool.key, request: call.what, error: error.failure })
      this.#send(call)
    }
    const exchange = new Exchange(call.request, conn, this.#owner, this.#options, call.trace, call.what, call.retry, call.resolve, reject)
    conn.client.dispatch(
      {
        path: call.path,
        method: call.request.method,
        headers: call.headers.list,
        body: call.body.body as Buffer | null,
        reset: call.headers.reset,
        blocking: false,
      },
      exchange,
    )
  }

  /** forgetIfEmpty drops a pool with no conns and no waiters (see {@link Routes.forget}); its counters stay in the totals. */
  #forgetIfEmpty(pool: HostPool): void {
    if (this.#routes.forget(pool)) retire(this.#retired, pool)
  }

  /** getConn returns an idle conn (most recently used first), or waits for a dialed or freed one. */
  #getConn(pool: HostPool, request: Request, trace: ClientTrace | undefined, what: string): PersistConn | Promise<PersistConn> {
    // The pool may have emptied and left the map since the call found it (while its body was prepared, or a turn was awaited).
    if (pool.removed) pool = this.#routes.poolFor(pool.method)
    callHook(trace, 'getConn', pool.key)
    const holder: Holder = { method: request.method, url: what.slice(request.method.length + 1), since: 0 }
    const now = this.#clock.now()
    for (let conn = pool.idle.pop(); conn !== undefined; conn = pool.idle.pop()) {
      this.#idleLru.delete(conn)
      if (conn.closed) continue
      if (conn.expired(now)) {
        conn.close('idle timeout')
        continue
      }
      if (sameTurn(conn.idleTurn)) return this.#afterTurn(pool, conn, holder, request, trace, what)
      this.#gotConn(pool, conn, holder, trace, true, now)
      return conn
    }
    return new Promise<PersistConn>((resolve, reject) => {
      const waiter = new ConnWaiter(this.#owner, pool, holder, trace, request.signal, resolve, reject)
      pool.enqueue(waiter)
      if (this.#options.maxConnsPerHost === 0 || pool.conns < this.#options.maxConnsPerHost) {
        this.#dialConnFor(pool, waiter, trace, what)
        return
      }
      pool.dialQueue.push(waiter)
      if (channels.queued.hasSubscribers) channels.queued.publish({ key: pool.key, waiting: pool.waiting })
      if (this.#options.maxWaitTime > 0) {
        waiter.expireAfter(this.#clock, this.#options.maxWaitTime, () => waitTimeoutError(pool, this.#options, what, this.#clock.now()))
      }
    })
  }

  /**
   * afterTurn takes `conn`, released in the current turn, once the turn has
   * ended (see turn.ts): if the server closed it or sent unasked-for bytes
   * meanwhile, it is gone, and the request looks for another conn.
   */
  #afterTurn(pool: HostPool, conn: PersistConn, holder: Holder, request: Request, trace: ClientTrace | undefined, what: string): Promise<PersistConn> {
    return new Promise<PersistConn>((resolve, reject) => {
      setImmediate(() => {
        if (this.#closed) {
          conn.close('transport closed')
          return reject(new TransportError(ERR_TRANSPORT_CLOSED, `transport is closed (${what})`))
        }
        if (request.signal.aborted) {
          if (!conn.closed) this.#putIdleOrDeliver(pool, conn)
          return reject(request.signal.reason)
        }
        if (!conn.closed) {
          this.#gotConn(pool, conn, holder, trace, true, this.#clock.now())
          return resolve(conn)
        }
        Promise.resolve(this.#getConn(pool, request, trace, what)).then(resolve, reject)
      })
    })
  }

  /** gotConn marks `conn` busy for a request and reports it to the trace. */
  #gotConn(pool: HostPool, conn: PersistConn, holder: Holder, trace: ClientTrace | undefined, wasIdle: boolean, now: number): void {
    const reused = conn.requests > 0
    const idleTime = wasIdle ? conn.idleTime(now) : 0
    holder.since = now
    conn.markBusy(holder)
    pool.busy.add(conn)
    pool.requests++
    if (reused) pool.reusedRequests++
    if (trace?.gotConn !== undefined) {
      const socket = conn.socket as { localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number }
      callHook(trace, 'gotConn', {
        reused,
        wasIdle,
        idleTime,
        localAddress: socket.localAddress,
        localPort: socket.localPort,
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
      })
    }
    if (channels.gotConn.hasSubscribers) channels.gotConn.publish({ key: pool.key, reused, wasIdle })
  }

  /** dialConnFor dials a conn on behalf of `waiter`; if the waiter is gone by then, the conn goes to the next one or the idle pool. */
  #dialConnFor(pool: HostPool, waiter: ConnWaiter, trace: ClientTrace | undefined, what: string): void {
    pool.startDial()
    waiter.dialStarted = true
    dialConn(pool.method, this.#options, trace, what, this.#closing.signal).then(
      (socket) => {
        pool.endDial(true)
        const conn = new PersistConn(pool, socket, this.#options, this.#onDead)
        if (this.#closed) {
          conn.close('transport closed')
          waiter.fail(new TransportError(ERR_TRANSPORT_CLOSED, `transport closed while connecting (${what})`))
          return
        }
        if (!waiter.deliver(conn, false)) this.#putIdleOrDeliver(pool, conn)
      },
      (error: unknown) => {
        pool.endDial(false)
        waiter.fail(error)
        this.#decConnsPerHost(pool)
        this.#forgetIfEmpty(pool)
        this.#checkDrained()
      },
    )
  }

  /** decConnsPerHost: a slot freed up, so dial for the first waiter that has no dial of its own. */
  #decConnsPerHost(pool: HostPool): void {
    if (this.#closed) return
    const max = this.#options.maxConnsPerHost
    while (pool.dialQueue.length > 0 && (max === 0 || pool.conns < max)) {
      const waiter = pool.dialQueue.shift() as ConnWaiter
      if (waiter.done) continue
      this.#dialConnFor(pool, waiter, waiter.trace, `${waiter.holder.method} ${waiter.holder.url}`)
    }
  }

  /** release (ConnOwner): the response is complete; reuse the conn or close it. */
  #release(conn: PersistConn, trace: ClientTrace | undefined): void {
    const pool = conn.pool
    pool.busy.delete(conn)
    conn.holder = undefined
    if (this.#closed || this.#options.disableKeepAlives || !conn.reusable || conn.closed) {
      const reason = this.#closed ? 'transport closed' : conn.closed ? 'connection closed' : 'keep-alive disabled or connection: close'
      callHook(trace, 'putIdleConn', new Error(reason))
      conn.close(reason)
      return
    }
    callHook(trace, 'putIdleConn')
    this.#putIdleOrDeliver(pool, conn)
  }

  /** discard (ConnOwner): the exchange failed or its body was cancelled; the conn is closed. */
  #discard(conn: PersistConn, error: Error, trace: ClientTrace | undefined): void {
    const pool = conn.pool
    pool.busy.delete(conn)
    callHook(trace, 'putIdleConn', error)
    conn.close(error.message)
  }

  /** tryDeliver to the first waiter, else tryPutIdleConn (Go's putOrCloseIdleConn). */
  #putIdleOrDeliver(pool: HostPool, conn: PersistConn): void {
    for (let waiter = pool.shift(); waiter !== undefined; waiter = pool.shift()) {
      if (waiter.deliver(conn, false)) return
    }
    if (pool.idle.length >= this.#options.maxIdleConnsPerHost) {
      conn.close('too many idle connections for host')
      return
    }
    conn.markIdle(this.#clock.now())
    pool.idle.push(conn)
    this.#idleLru.add(conn)
    if (channels.idle.hasSubscribers) channels.idle.publish({ key: pool.key, requests: conn.requests })
    const max = this.#options.maxIdleConns
    if (max > 0 && this.#idleLru.size > max) {
      const oldest = this.#idleLru.first()!
      oldest.close('too many idle connections')
    }
    this.#checkDrained()
  }

  #connDead(conn: PersistConn, reason: string): void {
    const pool = conn.pool
    pool.busy.delete(conn)
    pool.removeIdle(conn)
    this.#idleLru.delete(conn)
    pool.decConns()
    if (channels.closed.hasSubscribers) channels.closed.publish({ key: pool.key, reason })
    this.#decConnsPerHost(pool)
    this.#forgetIfEmpty(pool)
    this.#checkDrained()
  }

  /** closeIdleConnections closes every idle connection now; busy ones are left alone. */
  closeIdleConnections(): void {
    for (const conn of this.#idleLru.toArray()) conn.close('closeIdleConnections')
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
    for (const pool of this.#pools.values()) for (const conn of pool.busy.toArray()) conn.close('transport destroyed')
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
