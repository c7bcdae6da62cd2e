import { internalError, type BodyHold } from '@roundtrip/core'
import type { PersistConn } from './conn.js'
import { ConnList } from './conn-list.js'
import type { ConnectMethod } from './connect-method.js'
import type { H2Conn } from './h2-conn.js'
import type { ConnWaiter } from './waiter.js'
import { sameTurn } from './turn.js'

/**
 * PoolProtocol is what a pool's connections speak: `http1`, `h2`, or
 * `unknown` until the first TLS handshake of a pool that offers both
 * through ALPN tells (requests arriving meanwhile wait for that dial instead
 * of dialing their own: the cold burst).
 */
export type PoolProtocol = 'http1' | 'h2' | 'unknown'

/** Waiter is a request waiting for a connection (Go's `wantConn`). */
export interface Waiter {
  /** Settles the wait; false when it already had (delivered, aborted, timed out). */
  deliver(conn: PersistConn | H2Conn, reused: boolean): boolean
  fail(error: unknown): boolean
  readonly done: boolean
  /** Its request is sent again after its conn failed under it: it keeps its place at the head of the queues (see {@link HostPool.enqueue}). */
  readonly resent: boolean
  /** A dial of its own was started for it (it may be over, its conn gone to another waiter). */
  readonly dialStarted: boolean
  /** Set by {@link HostPool.enqueue}: when it settles, it tells its pool ({@link HostPool.leftQueue}). */
  inQueue: boolean
}

/**
 * HostPool is the state of one pool key: its idle connections (most recently
 * used last), the requests waiting (in arrival order, those sent again first:
 * see {@link HostPool.enqueue}), and the counters that
 * `maxConnsPerHost` and `stats()` read.
 */
export class HostPool {
  /** How this pool's connections are made; its key is the pool key. */
  readonly method: ConnectMethod
  /** Idle conns, the most recently used last (added by {@link pushIdle}, taken by {@link takeIdleAt} or {@link removeIdle}). */
  readonly idle: PersistConn[] = []
  /** How many idle conns were released in turn {@link #freshTurn} (see {@link allIdleFresh}). */
  #freshIdle = 0
  #freshTurn = -1
  /** HTTP/1.1 conns in use by a request (HTTP/2 conns stay in {@link h2}, busy while they have a stream). */
  readonly busy = new ConnList()
  /** Live HTTP/2 conns, oldest first; each serves requests while it has free streams. */
  readonly h2: H2Conn[] = []
  /** What the pool's conns speak (see {@link PoolProtocol}). */
  protocol: PoolProtocol
  /** Waiters in arrival order, those sent again at the head ({@link enqueue}); entries before `#head` or already done are skipped. */
  #waiters: Waiter[] = []
  #head = 0
  /** Waiters queued that have not settled: {@link waiting} without a scan of the queue. */
  #waiting = 0
  /** Waiters that have no dial of their own yet (queued at the limit), in arrival order, those sent again first, and one whose dial's conn went to a waiter ahead of it back at the head (Go's `dialsInQueue`). */
  readonly dialQueue: Waiter[] = []
  /** Route-cache keys (origins as written in request URLs) that lead to this pool. */
  readonly routes: string[] = []
  #conns = 0
  #dialing = 0
  dials = 0
  requests = 0
  reusedRequests = 0
  /**
   * The dial raced against an end-of-turn wait (pool-policy.ts's raceDial),
   * while it is in flight (the pool then has two conns: no other race
   * starts). `spare` once its race is over and no request has claimed its
   * conn yet.
   */
  raceDial: ConnWaiter | undefined = undefined
  /** Set while pool-policy.ts's serveH2 hands streams out: a call it causes returns (the running loop serves on). */
  servingH2 = false
  /** Set once the pool left the transport's map; a call that still holds it must look up the live one. */
  removed = false
  /** The two holds of its responses without a body ({@link bodilessHold}), made on first use. */
  #bodiless: readonly [Readonly<BodyHold>, Readonly<BodyHold>] | undefined = undefined

  constructor(method: ConnectMethod, protocol: PoolProtocol) {
    this.method = method
    this.protocol = protocol
  }

  /** The first HTTP/2 conn that can take a new stream now. */
  h2Available(): H2Conn | undefined {
    for (const conn of this.h2) if (conn.available) return conn
    return undefined
  }

  /** Whether an HTTP/2 conn is open and not going away (its streams will free up). */
  get hasLiveH2(): boolean {
    for (const conn of this.h2) if (!conn.closed && !conn.goingAway) return true
    return false
  }

  /**
   * waitsForStreams: a request to an HTTP/2 (or not yet known) pool waits
   * instead of dialing while a dial is in flight (it will be served by that
   * conn's streams: 100 concurrent requests to a fresh origin open one
   * connection), or, with `strict` (`strictMaxConcurrentStreams`), while a
   * live conn's streams will free up.
   */
  waitsForStreams(strict: boolean): boolean {
    if (this.protocol === 'http1') return false
    return this.#dialing > 0 || (strict && this.hasLiveH2)
  }

  /** Removes a dead HTTP/2 conn. */
  removeH2(conn: H2Conn): void {
    const i = this.h2.indexOf(conn)
    if (i >= 0) this.h2.splice(i, 1)
  }

  /** The pool key (see {@link ConnectMethod.key}). */
  get key(): string {
    return this.method.key
  }

  /** bodilessHold is the frozen hold a response without a body from this pool carries (core's `ResponseInfo.hold`): released, reused or not; two per pool, shared. */
  bodilessHold(reused: boolean): Readonly<BodyHold> {
    const key = this.key
    this.#bodiless ??= [Object.freeze({ pool: key, released: true, reused: false }), Object.freeze({ pool: key, released: true, reused: true })]
    return this.#bodiless[reused ? 1 : 0]
  }

  /** Conns counted against maxConnsPerHost: dialing, busy and idle. */
  get conns(): number {
    return this.#conns
  }

  /** Dials in progress. */
  get dialing(): number {
    return this.#dialing
  }

  /** A request got a conn (`reused`: one used before), for `stats()`. */
  countRequest(reused: boolean): void {
    this.requests++
    if (reused) this.reusedRequests++
  }

  /** A dial starts: it counts against maxConnsPerHost from now on. */
  startDial(): void {
    this.#conns++
    this.#dialing++
    this.dials++
  }

  /** A dial ended; a failed one gives its slot back. */
  endDial(ok: boolean): void {
    if (this.#dialing === 0) throw internalError(`dial count of ${this.method.key} would go negative`)
    this.#dialing--
    if (!ok) this.decConns()
  }

  /** A conn of this pool is gone (Go's `decConnsPerHost`, the count part). */
  decConns(): void {
    if (this.#conns === 0) throw internalError(`connection count of ${this.method.key} would go negative`)
    this.#conns--
  }

  /**
   * Queues a waiter that has no dial of its own (at the limit) in
   * {@link dialQueue}, first dropping the settled ones at its head: a waiter
   * served by a freed conn (or aborted, or timed out) stays there until then,
   * as only a dial takes waiters out. FIFO service settles them head first;
   * `shift` of a short array is O(1) in V8 (it trims the array's start).
   */
  queueForDial(waiter: Waiter): void {
    const queue = this.dialQueue
    while (queue.length > 0 && queue[0]!.done) queue.shift()
    if (!waiter.resent) queue.push(waiter)
    else queue.splice(afterResent(queue, 0), 0, waiter)
  }

  /**
   * Queues a waiter at the back (Go's `queueForIdleConn`), or, for a request
   * sent again after its conn failed under it, at the head, behind the other
   * such requests: it came before the requests queued behind it, and lost its
   * conn through no doing of its own. (Go queues its retry at the back;
   * undici keeps such a request at its place in its client's queue, and
   * OkHttp counts a call against its per-host limit through its retries.)
   */
  enqueue(waiter: Waiter): void {
    waiter.inQueue = true
    this.#waiting++
    const waiters = this.#waiters
    if (!waiter.resent) {
      waiters.push(waiter)
      return
    }
    const at = afterResent(waiters, this.#head)
    if (at === this.#head && at > 0) waiters[--this.#head] = waiter
    else waiters.splice(at, 0, waiter)
  }

  /** The first waiter that is still waiting, left in the queue (settled ones before it are dropped, as {@link shift} would). */
  first(): Waiter | undefined {
    const waiters = this.#waiters
    while (this.#head < waiters.length && waiters[this.#head]!.done) waiters[this.#head++] = undefined as never
    return waiters[this.#head]
  }

  /**
   * The first waiter sent again (see {@link enqueue}) that has no dial of its
   * own, among those at the queue's head, ahead of `before`: the resent ones
   * before it that have a dial of their own are passed, as settled ones.
   * Undefined when there is none.
   */
  resentWithoutDial(before: Waiter): Waiter | undefined {
    const waiters = this.#waiters
    if (this.first() === undefined) return undefined
    for (let i = this.#head; i < waiters.length; i++) {
      const waiter = waiters[i]!
      if (waiter === before || !waiter.resent) return undefined
      if (!waiter.done && !waiter.dialStarted) return waiter
    }
    return undefined
  }

  /** The first waiter that is still waiting, removed from the queue. */
  shift(): Waiter | undefined {
    while (this.#head < this.#waiters.length) {
      const waiter = this.#waiters[this.#head]!
      this.#waiters[this.#head++] = undefined as never
      if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
        this.#waiters = this.#waiters.slice(this.#head)
        this.#head = 0
      }
      if (!waiter.done) return waiter
    }
    if (this.#head > 0) {
      this.#waiters = []
      this.#head = 0
    }
    return undefined
  }

  /** How many waiters are still waiting (counted: the queue keeps settled ones until they reach its head). */
  get waiting(): number {
    return this.#waiting
  }

  /** A queued waiter settled (delivered, failed, aborted, timed out): it no longer counts as waiting. */
  leftQueue(): void {
    if (this.#waiting === 0) throw internalError(`waiter count of ${this.method.key} would go negative`)
    this.#waiting--
  }

  /** Removes and returns every waiter still waiting. */
  drain(): Waiter[] {
    const out: Waiter[] = []
    for (let w = this.shift(); w !== undefined; w = this.shift()) out.push(w)
    return out
  }

  /** Adds `conn` at the end of the idle list (the most recently used). */
  pushIdle(conn: PersistConn): void {
    this.idle.push(conn)
    if (!sameTurn(conn.releaseTurn)) return
    if (conn.releaseTurn !== this.#freshTurn) {
      this.#freshTurn = conn.releaseTurn
      this.#freshIdle = 0
    }
    this.#freshIdle++
  }

  /**
   * Whether every idle conn was released in the current turn (none may be
   * written on before it ends): pool-policy.ts's idleConnFor then takes the
   * most recent without looking for one idle since an earlier turn.
   */
  get allIdleFresh(): boolean {
    return this.#freshIdle === this.idle.length && this.#freshIdle > 0 && sameTurn(this.#freshTurn)
  }

  /** Removes and returns the idle conn at `i`. */
  takeIdleAt(i: number): PersistConn {
    const idle = this.idle
    const conn = idle[i]!
    // In place: the list is short, and splice would make an array per call.
    for (let j = i + 1; j < idle.length; j++) idle[j - 1] = idle[j]!
    idle.length--
    this.#leftIdle(conn)
    return conn
  }

  /** Removes `conn` from the idle list; true when it was there. */
  removeIdle(conn: PersistConn): boolean {
    const i = this.idle.lastIndexOf(conn)
    if (i < 0) return false
    this.idle.splice(i, 1)
    this.#leftIdle(conn)
    return true
  }

  #leftIdle(conn: PersistConn): void {
    if (conn.releaseTurn === this.#freshTurn && this.#freshIdle > 0) this.#freshIdle--
  }

  /** Whether nothing is open or waiting, so the pool can be forgotten. */
  get empty(): boolean {
    return this.#conns === 0 && this.waiting === 0
  }
}

/** afterResent is the index in `queue`, from `from`, past the waiters at its head that are settled or sent again. */
function afterResent(queue: Waiter[], from: number): number {
  let i = from
  while (i < queue.length && (queue[i]!.done || queue[i]!.resent)) i++
  return i
}
