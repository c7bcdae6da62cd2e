import type { PersistConn } from './conn.js'
import type { Target } from './dial.js'

/** Waiter is a request waiting for a connection (Go's `wantConn`). */
export interface Waiter {
  /** Settles the wait; false when it already had (delivered, aborted, timed out). */
  deliver(conn: PersistConn, reused: boolean): boolean
  fail(error: unknown): boolean
  readonly done: boolean
}

/**
 * HostPool is the state of one pool key: its idle connections (most recently
 * used last), the requests waiting in FIFO order, and the counters that
 * `maxConnsPerHost` and `stats()` read.
 */
export class HostPool {
  readonly target: Target
  /** Idle conns, the most recently used last. */
  readonly idle: PersistConn[] = []
  /** Conns in use by a request. */
  readonly busy = new Set<PersistConn>()
  /** Waiters in FIFO order; entries before `#head` or already done are skipped. */
  #waiters: Waiter[] = []
  #head = 0
  /** Conns counted against maxConnsPerHost: dialing, busy and idle. */
  /** Waiters that have no dial of their own yet (queued at the limit), FIFO (Go's `dialsInQueue`). */
  readonly dialQueue: Waiter[] = []
  conns = 0
  dialing = 0
  dials = 0
  requests = 0
  reusedRequests = 0

  constructor(target: Target) {
    this.target = target
  }

  /** Queues a waiter at the back (Go's `queueForIdleConn`). */
  enqueue(waiter: Waiter): void {
    this.#waiters.push(waiter)
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

  /** How many waiters are still waiting. */
  get waiting(): number {
    let n = 0
    for (let i = this.#head; i < this.#waiters.length; i++) if (!this.#waiters[i]!.done) n++
    return n
  }

  /** Removes and returns every waiter still waiting. */
  drain(): Waiter[] {
    const out: Waiter[] = []
    for (let w = this.shift(); w !== undefined; w = this.shift()) out.push(w)
    return out
  }

  /** Removes `conn` from the idle list; true when it was there. */
  removeIdle(conn: PersistConn): boolean {
    const i = this.idle.lastIndexOf(conn)
    if (i < 0) return false
    this.idle.splice(i, 1)
    return true
  }

  /** Whether nothing is open or waiting, so the pool can be forgotten. */
  get empty(): boolean {
    return this.conns === 0 && this.dialing === 0 && this.waiting === 0
  }
}
