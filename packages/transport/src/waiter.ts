import { neverAborts } from '@roundtrip/core'
import type { Acquirer } from './acquirer.js'
import type { Clock } from './clock.js'
import type { PersistConn } from './conn.js'
import { Deadline } from './deadlines.js'
import type { H2Conn } from './h2-conn.js'
import type { H2Lease } from './h2-stream.js'
import type { HostPool, Waiter } from './pool.js'
import { channels, type ClientTrace } from './trace.js'
import { unwatchAbort, watchAbort, type AbortWatcher, type Watching } from './abort-watch.js'

/** What a request gets from the pool: an HTTP/1.1 conn of its own, or a stream of an HTTP/2 conn. */
export type Got = PersistConn | H2Lease

/** What a waiter needs from the transport: the hand-over of a conn (for HTTP/2, of one of its streams) to its request. */
export interface WaiterOwner {
  handOver(acquirer: Acquirer, pool: HostPool, conn: PersistConn | H2Conn, wasIdle: boolean): void
  /** The dial raced for `acquirer` is ready first: true when the request takes its conn (it gives back the one it waited for), false when it no longer wants one. */
  dialWon(acquirer: Acquirer): boolean
}

/**
 * ConnWaiter is one request waiting for a conn (Go's `wantConn`): it hands
 * the conn it is delivered to its {@link Acquirer} (through the Transport,
 * which takes it for the request) or fails it, once.
 *
 * A racing waiter is the other side of a race (transport.ts's raceDial): its
 * request waits for a conn released in this turn, and this waiter's dial runs
 * meanwhile, in no queue. Until the race is decided its dial's conn goes to
 * the request only if the request still waits ({@link WaiterOwner.dialWon}),
 * and a failure is dropped: the request does not depend on it. The Transport
 * ends the race with {@link cancel} (the wait won: the dial's conn will go
 * idle) or {@link adopt} (the conn waited for died: the request now waits for
 * this dial, or a conn freed first, as any waiter).
 */
export class ConnWaiter implements Waiter, AbortWatcher {
  done = false
  dialStarted = false
  /** The waiter's dial was raced against a wait (it stays so once adopted): see {@link racing}. */
  readonly raced: boolean
  /** A race is on: a delivery goes to the request only if it still waits, a failure is dropped. */
  racing: boolean
  /** The race is over and the dial still runs: its conn is for whichever request claims it (see transport.ts's getConn). */
  spare = false
  /** The waiter that claimed the spare conn of this raced dial: it gets a dial of its own if this one fails. */
  claimant: ConnWaiter | undefined = undefined
  readonly owner: WaiterOwner
  /** The pool it waits in (its acquirer's, when it started waiting). */
  readonly pool: HostPool
  readonly acquirer: Acquirer
  readonly resent: boolean
  inQueue = false
  #deadline: Deadline | undefined
  /** Set while the waiter watches its request's signal (abort-watch.ts). */
  #watching: Watching | undefined
  /** Announced on `queued` (see {@link queued}): its end is announced on `dequeued`. */
  #announced = false
  /** Whether it was announced on `queued` (see {@link queued}): it waits at `maxConnsPerHost`, under `maxWaitTime`. */
  get announced(): boolean {
    return this.#announced
  }

  /** The waiting Request, while an announced wait lasts (undefined for an undici dispatch). */
  #request: Request | undefined = undefined

  /** `resent`: its request is sent again after its conn failed under it (it waits at the head of the queues: pool.ts's enqueue). */
  constructor(owner: WaiterOwner, acquirer: Acquirer, racing = false, resent = false) {
    this.owner = owner
    this.pool = acquirer.pool
    this.acquirer = acquirer
    this.resent = resent
    this.raced = racing
    this.racing = racing
    // Racing, the request's abort is seen at the end of its turn.
    if (!racing) this.#listen()
  }

  #listen(): void {
    const signal = this.acquirer.signal
    if (neverAborts(signal)) return
    this.#watching = watchAbort(signal, this)
  }

  /** adopt ends the race for the dial: the conn the request waited for died, so it waits for this dial, or a conn freed first, in its pool's queue. */
  adopt(): void {
    this.racing = false
    this.pool.enqueue(this)
    this.#listen()
  }

  /** cancel ends the race for the wait (or the request settled meanwhile): the dial's conn goes to the pool, its failure nowhere. */
  cancel(): void {
    if (this.done) return
    this.#settle(false)
    this.spare = true
  }

  /** The trace hooks of the request (a dial made for it reports to them). */
  get trace(): ClientTrace | undefined {
    return this.acquirer.trace
  }

  /** `METHOD url`, credentials removed: names the request in the errors of a dial made for it (made only for a message). */
  get what(): string {
    return this.acquirer.what
  }

  /** signalAborted (AbortWatcher): the request's signal aborted while it waited. */
  signalAborted(): void {
    // It got its conn while the abort was being told (an earlier watcher's abort freed one): an EventTarget skips a listener removed during the dispatch.
    if (this.#watching === undefined) return
    this.#watching = undefined
    if (channels.waitFailed.hasSubscribers) channels.waitFailed.publish({ key: this.pool.key, reason: 'aborted' })
    this.fail(this.acquirer.signal.reason)
  }

  /** Fails the wait with `error()` once `ms` have passed on `clock` (the wait deadline, `maxWaitTime`). */
  expireAfter(clock: Clock, ms: number, error: () => Error): void {
    this.#deadline = new Deadline(clock, () => this.#expired(error), false)
    this.#deadline.arm(ms)
  }

  #expired(error: () => Error): void {
    if (channels.waitFailed.hasSubscribers) channels.waitFailed.publish({ key: this.pool.key, reason: 'maxWaitTime' })
    this.fail(error())
  }

  /**
   * queued announces on `roundtrip:pool:queued` that the waiter waits in its
   * pool's queue (it has no dial of its own); its end is announced on
   * `roundtrip:pool:dequeued`, from {@link #settle}, which both a delivery and
   * a failure go through. `request` is the waiting Request, undefined for an
   * undici dispatch.
   */
  queued(request: Request | undefined): void {
    this.#announced = true
    this.#request = request
    if (channels.queued.hasSubscribers) channels.queued.publish({ key: this.pool.key, waiting: this.pool.waiting, request })
  }

  deliver(conn: PersistConn | H2Conn, wasIdle: boolean): boolean {
    if (this.done) return false
    this.#settle(true)
    if (this.racing && !this.owner.dialWon(this.acquirer)) return false
    this.owner.handOver(this.acquirer, this.pool, conn, wasIdle)
    return true
  }

  fail(error: unknown): boolean {
    if (this.done) return false
    this.#settle(false)
    if (!this.racing) this.acquirer.fail(error)
    return true
  }

  #settle(gotConn: boolean): void {
    this.done = true
    if (this.inQueue) {
      this.inQueue = false
      this.pool.leftQueue()
    }
    this.#deadline?.disarm()
    const watching = this.#watching
    if (watching !== undefined) {
      this.#watching = undefined
      unwatchAbort(this.acquirer.signal, this, watching)
    }
    if (!this.#announced) return
    const request = this.#request
    this.#request = undefined
    if (channels.dequeued.hasSubscribers) channels.dequeued.publish({ key: this.pool.key, request, gotConn })
  }
}
