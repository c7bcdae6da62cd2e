import { PersistConn } from './conn.js'
import { dialConn } from './dial.js'
import { ERR_TRANSPORT_CLOSED, TransportError } from './errors.js'
import { H2Conn, type H2ConnEvents } from './h2-conn.js'
import type { HostPool } from './pool.js'
import type { ResolvedOptions } from './resolve-options.js'
import { negotiatedH2 } from './route.js'
import type { Acquirer } from './acquirer.js'
import { ConnWaiter, type WaiterOwner } from './waiter.js'
import type { Clock } from './clock.js'
import type { ConnList } from './conn-list.js'
import type { ExchangeConn } from './exchange.js'
import { H2Lease } from './h2-stream.js'
import { callHook, channels, type ClientTrace } from './trace.js'
import { currentTurn, sameTurn } from './turn.js'
import { waitTimeoutError } from './deadlines.js'

// The pool policy: who gets a conn or a stream when one is dialed, freed,
// released or dies (Go's tryDeliver / putOrCloseIdleConn / decConnsPerHost).
// The Transport keeps the state it shares (options, clock, idle LRU, the
// closed flag, the pools map) and hands it over as a PoolHost.

/** What the pool policy uses of its Transport (kept off the public surface). */
export interface PoolHost {
  readonly options: ResolvedOptions
  /** Aborted when the Transport closes: every dial listens on it. */
  readonly closing: AbortSignal
  readonly h2Events: H2ConnEvents
  readonly onDead: (conn: PersistConn, reason: string) => void
  readonly clock: Clock
  /** Every idle conn across hosts, least recently used first (for maxIdleConns). */
  readonly idleLru: ConnList
  closed(): boolean
  forgetIfEmpty(pool: HostPool): void
  checkDrained(): void
}

/**
 * dialConnFor dials a conn on behalf of `waiter`; if the waiter is gone by
 * then, the conn goes to the next one or the idle pool. A request sent again
 * that waits ahead of `waiter` with no dial of its own takes it first
 * (`resentFirst`): `waiter` then waits at the head of the dial queue.
 */
export function dialConnFor(host: PoolHost, pool: HostPool, waiter: ConnWaiter, trace: ClientTrace | undefined): void {
  pool.startDial()
  waiter.dialStarted = true
  if (waiter.raced) pool.raceDial = waiter
  const failed = (error: unknown): void => {
    pool.endDial(false)
    if (waiter.raced) pool.raceDial = undefined
    waiter.fail(error)
    // The request that claimed the conn of this raced dial (transport.ts's getConn) gets a dial of its own, or waits for a slot.
    if (waiter.claimant !== undefined && !waiter.claimant.done) queueAgain(host, pool, waiter.claimant)
    // Requests that waited for this dial's streams share its failure (as Go's HTTP/2 dial call), unless a live conn will serve them.
    if (pool.protocol !== 'http1' && !pool.hasLiveH2) for (const w of pool.dialQueue.splice(0)) w.fail(error)
    decConnsPerHost(host, pool)
    host.forgetIfEmpty(pool)
    host.checkDrained()
  }
  dialConn(pool.method, host.options, trace, waiter, host.closing).then(
    (socket) => {
      let h2: boolean
      try {
        h2 = negotiatedH2(pool, socket, host.options.protocols)
      } catch (error) {
        socket.destroy()
        return failed(error)
      }
      pool.endDial(true)
      if (waiter.raced) pool.raceDial = undefined
      const conn = h2 ? new H2Conn(pool, socket, host.options, host.h2Events) : new PersistConn(pool, socket, host.options, host.onDead)
      if (host.closed()) {
        conn.close('transport closed')
        waiter.fail(new TransportError(ERR_TRANSPORT_CLOSED, `transport closed while connecting (${waiter.what})`))
        return
      }
      if (conn instanceof H2Conn) {
        pool.protocol = 'h2'
        pool.h2.push(conn)
        waiter.deliver(conn, false)
        serveH2(host, pool)
        return
      }
      // Requests that waited for this dial to learn the protocol get dials of their own now.
      const learned = pool.protocol === 'unknown'
      if (learned) pool.protocol = 'http1'
      if (!resentFirst(host, pool, waiter, conn) && !waiter.deliver(conn, false)) {
        putIdleOrDeliver(host, pool, conn)
        // The spare conn of a raced dial served an earlier waiter (FIFO), whose own dial may still fail or be slow: the request that claimed it gets a dial of its own, as when this dial fails.
        const claimant = waiter.claimant
        if (claimant !== undefined && !claimant.done) queueAgain(host, pool, claimant)
      }
      if (learned) decConnsPerHost(host, pool)
    },
    failed,
  )
}

/**
 * waitAtLimit has `waiter`, queued for a dial it has not got (at
 * `maxConnsPerHost`, or while its pool's protocol is learned), wait as every
 * request there: announced on `roundtrip:pool:queued` (its end on
 * `dequeued`), and failed once it waited `maxWaitTime`. Once per wait: a
 * waiter that waited so before, then got a dial whose conn went to another
 * request, keeps its announcement and its deadline.
 */
export function waitAtLimit(host: PoolHost, pool: HostPool, waiter: ConnWaiter): void {
  if (waiter.announced || waiter.done) return
  // The waiting Request (none for an undici dispatch), so a layer above knows which of its calls waits, until `dequeued`.
  waiter.queued(waiter.acquirer.request)
  const options = host.options
  if (options.maxWaitTime > 0) waiter.expireAfter(host.clock, options.maxWaitTime, () => waitTimeoutError(pool, options, waiter.what, host.clock.now()))
}

/**
 * queueAgain puts `waiter`, which claimed a raced dial whose conn went to an
 * earlier waiter (or that failed), back at the head of the dial queue: it
 * gets a dial of its own now if the limit allows, else once a slot is free,
 * and meanwhile waits at the limit as any request there ({@link waitAtLimit}).
 */
function queueAgain(host: PoolHost, pool: HostPool, waiter: ConnWaiter): void {
  waiter.dialStarted = false
  pool.dialQueue.unshift(waiter)
  decConnsPerHost(host, pool)
  if (!waiter.dialStarted) waitAtLimit(host, pool, waiter)
}

/**
 * resentFirst gives `conn`, dialed for `waiter`, to a request sent again
 * after its conn failed under it, when that one waits at the head of the
 * queue (among the resent ones there, ahead of `waiter`) with no dial of its
 * own (it queued at `maxConnsPerHost`, see pool.ts's enqueue): it came
 * first. `waiter`, which queued after it, takes its place at the head of the
 * dial queue, and waits at the limit as any request there
 * ({@link waitAtLimit}). False when there is none (or the dial was raced:
 * transport.ts's raceDial decides where its conn goes).
 */
function resentFirst(host: PoolHost, pool: HostPool, waiter: ConnWaiter, conn: PersistConn): boolean {
  if (waiter.raced || waiter.done) return false
  const first = pool.resentWithoutDial(waiter)
  if (first === undefined) return false
  // In the dial queue before the hand-over: should the conn close as it is handed over, its slot is freed for `waiter` (connDead dials for the dial queue).
  waiter.dialStarted = false
  pool.dialQueue.unshift(waiter)
  if (!first.deliver(conn, false)) {
    pool.dialQueue.shift()
    waiter.dialStarted = true
    return false
  }
  if (!waiter.dialStarted) waitAtLimit(host, pool, waiter)
  return true
}

/**
 * idleConnFor takes an idle HTTP/1.1 conn of `pool` out of the idle lists
 * for a request (the idle half of Go's `queueForIdleConn`): the most
 * recently used of those idle since an earlier turn, ready to be written on
 * now; else the most recently used of those released in the current turn,
 * which the request may write on only once the turn has ended (turn.ts).
 * Closed and expired conns met on the way are dropped.
 */
export function idleConnFor(host: PoolHost, pool: HostPool, now: number): PersistConn | undefined {
  const idle = pool.idle
  // Every idle conn was released in this turn (the c64 case): none is idle since an earlier turn, no scan for one (expired ones are left to their idle deadlines).
  if (pool.allIdleFresh) {
    const last = idle[idle.length - 1]!
    if (!last.closed && !last.expired(now)) return takeIdleAt(host, pool, idle.length - 1)
  }
  let recent = -1
  for (let i = idle.length - 1; i >= 0; i--) {
    const conn = idle[i]!
    if (conn.closed || conn.expired(now)) {
      takeIdleAt(host, pool, i)
      if (recent > i) recent--
      // Out of the lists first: closing it does its pool's bookkeeping (connDead).
      conn.close('idle timeout')
      continue
    }
    if (!sameTurn(conn.releaseTurn)) return takeIdleAt(host, pool, i)
    if (recent < 0) recent = i
  }
  return recent < 0 ? undefined : takeIdleAt(host, pool, recent)
}

/** takeIdleAt removes the conn at `i` of a pool's idle list, and from the transport's idle LRU. */
function takeIdleAt(host: PoolHost, pool: HostPool, i: number): PersistConn {
  const conn = pool.takeIdleAt(i)
  host.idleLru.delete(conn)
  return conn
}

/**
 * raceDial starts a dial for `acquirer`, which is about to wait for the end
 * of the turn for a conn released in it (after-turn.ts's TurnQueue), when
 * that conn is its host's only one: sequential traffic. Go's getConn races a
 * dial against waiting for an idle conn the same way. Whichever is ready
 * first takes the request ({@link dialWon}, or the end of the turn), the
 * other goes idle, ready for the next request: sequential requests so
 * alternate two conns, each idle since an earlier turn, with one dial more
 * than they need. With more conns (requests in flight together) there is
 * none: each conn released in a turn would bring another, doubling the
 * conns at 64 in flight (measured: 64 → 128, and about 20% more CPU per
 * request), while the loop is busy with the other requests anyway. Only
 * with the `raceDial` option, for HTTP/1.1, below `maxConnsPerHost`, and
 * where both conns may stay idle. The dial outlives the race: the loser's
 * conn is the pool's.
 */
export function raceDial(host: PoolHost, owner: WaiterOwner, acquirer: Acquirer, pool: HostPool): void {
  const options = host.options
  // `conns` counts dialing, busy and idle conns, and the one waited for (in no list): a race dial in flight too.
  if (!options.raceDial || pool.conns !== 1 || pool.protocol !== 'http1') return
  if (options.maxConnsPerHost === 1) return
  // The conn waited for is out of the idle lists: it and the loser, both idle again, must be kept.
  if (options.maxIdleConnsPerHost < 2 || (options.maxIdleConns > 0 && host.idleLru.size + 2 > options.maxIdleConns)) return
  const waiter = new ConnWaiter(owner, acquirer, true)
  acquirer.race = waiter
  dialConnFor(host, pool, waiter, acquirer.trace)
}

/**
 * dialWon (the Transport's WaiterOwner): the dial raced for `acquirer` is
 * ready before the end of the turn it waits for. It takes the new conn
 * (true) and gives the one it waited for back to the pool, where it is idle
 * since this turn; or (false) it no longer wants a conn (aborted, or the
 * transport closed: the end of its turn settles it), and the new conn goes
 * idle.
 */
export function dialWon(host: PoolHost, acquirer: Acquirer): boolean {
  const conn = acquirer.turnConn
  if (conn === undefined || host.closed() || acquirer.signal.aborted) return false
  acquirer.turnConn = undefined
  acquirer.race = undefined
  if (!conn.closed) putIdleOrDeliver(host, conn.pool, conn)
  return true
}

/** decConnsPerHost: a slot freed up, so dial for the first waiter that has no dial of its own. */
export function decConnsPerHost(host: PoolHost, pool: HostPool): void {
  if (host.closed()) return
  const max = host.options.maxConnsPerHost
  if (pool.protocol !== 'http1') {
    // HTTP/2: one dial at a time, whose streams serve the queue; none while streams will free up (strict).
    if (pool.waitsForStreams(host.options.http2.strictMaxConcurrentStreams) || (max > 0 && pool.conns >= max)) return
    let waiter = pool.dialQueue.shift() as ConnWaiter | undefined
    while (waiter?.done === true) waiter = pool.dialQueue.shift() as ConnWaiter | undefined
    if (waiter !== undefined) dialConnFor(host, pool, waiter, waiter.trace)
    return
  }
  while (pool.dialQueue.length > 0 && (max === 0 || pool.conns < max)) {
    const waiter = pool.dialQueue.shift() as ConnWaiter
    if (waiter.done) continue
    dialConnFor(host, pool, waiter, waiter.trace)
  }
}

/**
 * serveH2 hands free streams to waiters in FIFO order; waiters left over get
 * a dial (one at a time) unless they wait for streams. A hand-over can call
 * it again before it returns (a stream that fails as it is opened, such as a
 * head node:http2 refuses, is given back at once: releaseStream): that call
 * returns, and the loop already running serves on. Without that, each waiter
 * of a long queue served so would nest one call deeper.
 */
export function serveH2(host: PoolHost, pool: HostPool): void {
  if (pool.servingH2) return
  pool.servingH2 = true
  let queueLeft = true
  try {
    for (let conn = pool.h2Available(); conn !== undefined; conn = pool.h2Available()) {
      const waiter = pool.shift()
      if (waiter === undefined) {
        queueLeft = false
        break
      }
      waiter.deliver(conn, conn.streams === 0)
    }
  } finally {
    pool.servingH2 = false
  }
  if (queueLeft) decConnsPerHost(host, pool)
}

/** release (ConnOwner): the response is complete; reuse the conn or close it (HTTP/2: give the stream back). */
export function release(host: PoolHost, exchangeConn: ExchangeConn, trace: ClientTrace | undefined): void {
  if (exchangeConn instanceof H2Lease) return releaseStream(host, exchangeConn, trace)
  const conn = exchangeConn as PersistConn
  const pool = conn.pool
  pool.busy.delete(conn)
  conn.holder = undefined
  if (host.closed() || host.options.disableKeepAlives || !conn.reusable || conn.closed) {
    const reason = host.closed() ? 'transport closed' : conn.closed ? 'connection closed' : 'keep-alive disabled or connection: close'
    if (trace !== undefined) callHook(trace, 'putIdleConn', new Error(reason))
    conn.close(reason)
    return
  }
  if (trace !== undefined) callHook(trace, 'putIdleConn')
  // Whoever takes it in this turn, from the idle list or as a waiter, takes it once the turn ended (turn.ts).
  conn.releaseTurn = currentTurn()
  putIdleOrDeliver(host, pool, conn)
}

/** discard (ConnOwner): the exchange failed or its body was cancelled; the conn is closed (HTTP/2: the stream was reset, the conn stays). */
export function discard(host: PoolHost, exchangeConn: ExchangeConn, error: Error, trace: ClientTrace | undefined): void {
  if (exchangeConn instanceof H2Lease) return releaseStream(host, exchangeConn, trace)
  const conn = exchangeConn as PersistConn
  const pool = conn.pool
  pool.busy.delete(conn)
  if (trace !== undefined) callHook(trace, 'putIdleConn', error)
  conn.close(error.message)
}

/** releaseStream gives an HTTP/2 stream back to its conn, and serves the next waiter with it. */
function releaseStream(host: PoolHost, lease: H2Lease, trace: ClientTrace | undefined): void {
  const conn = lease.conn
  const pool = conn.pool
  conn.release(lease)
  if (conn.streams === 0 && host.closed()) conn.close('transport closed')
  if (trace !== undefined) callHook(trace, 'putIdleConn', conn.closed ? new Error('connection closed') : undefined)
  if (!host.closed() && !conn.closed) serveH2(host, pool)
  host.checkDrained()
}

/** tryDeliver to the first waiter, else tryPutIdleConn (Go's putOrCloseIdleConn). */
export function putIdleOrDeliver(host: PoolHost, pool: HostPool, conn: PersistConn): void {
  for (let waiter = pool.shift(); waiter !== undefined; waiter = pool.shift()) {
    if (waiter.deliver(conn, false)) return
  }
  if (pool.idle.length >= host.options.maxIdleConnsPerHost) {
    conn.close('too many idle connections for host')
    return
  }
  conn.markIdle(host.clock.now())
  pool.pushIdle(conn)
  host.idleLru.add(conn)
  if (channels.idle.hasSubscribers) channels.idle.publish({ key: pool.key, requests: conn.requests })
  const max = host.options.maxIdleConns
  if (max > 0 && host.idleLru.size > max) {
    const oldest = host.idleLru.first()!
    oldest.close('too many idle connections')
  }
  host.checkDrained()
}

export function connDead(host: PoolHost, conn: PersistConn | H2Conn, reason: string): void {
  const pool = conn.pool
  if (conn instanceof H2Conn) pool.removeH2(conn)
  else {
    pool.busy.delete(conn)
    pool.removeIdle(conn)
    host.idleLru.delete(conn)
  }
  pool.decConns()
  if (channels.closed.hasSubscribers) channels.closed.publish({ key: pool.key, reason })
  decConnsPerHost(host, pool)
  host.forgetIfEmpty(pool)
  host.checkDrained()
}
