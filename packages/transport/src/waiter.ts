import { neverAborts } from '@roundtrip/core'
import type { Acquirer } from './acquirer.js'
import type { Clock } from './clock.js'
import type { PersistConn } from './conn.js'
import { Deadline } from './deadlines.js'
import type { H2Conn } from './h2-conn.js'
import type { H2Lease } from './h2-stream.js'
import type { HostPool, Waiter } from './pool.js'
import { channels, type ClientTrace } from './trace.js'

/** What a request gets from the pool: an HTTP/1.1 conn of its own, or a stream of an HTTP/2 conn. */
export type Got = PersistConn | H2Lease

/** What a waiter needs from the transport: the hand-over of a conn (for HTTP/2, of one of its streams) to its request. */
export interface WaiterOwner {
  handOver(acquirer: Acquirer, pool: HostPool, conn: PersistConn | H2Conn, wasIdle: boolean): void
}

/**
 * ConnWaiter is one request waiting for a conn (Go's `wantConn`): it hands
 * the conn it is delivered to its {@link Acquirer} (through the Transport,
 * which takes it for the request) or fails it, once.
 */
export class ConnWaiter implements Waiter {
  done = false
  dialStarted = false
  readonly owner: WaiterOwner
  /** The pool it waits in (its acquirer's, when it started waiting). */
  readonly pool: HostPool
  readonly acquirer: Acquirer
  #deadline: Deadline | undefined
  #onAbort: (() => void) | undefined
  /** Announced on `queued` (see {@link queued}): its end is announced on `dequeued`. */
  #announced = false
  /** The waiting Request, while an announced wait lasts (undefined for an undici dispatch). */
  #request: Request | undefined = undefined

  constructor(owner: WaiterOwner, acquirer: Acquirer) {
    this.owner = owner
    this.pool = acquirer.pool
    this.acquirer = acquirer
    // Not `this.#onAbort = () => …`: V8 would allocate that closure in the
    // old generation, keeping the waiter's request alive through young GCs
    // (see Exchange's abort listener).
    if (neverAborts(acquirer.signal)) return
    this.#onAbort = ConnWaiter.#abortListener(this)
    acquirer.signal.addEventListener('abort', this.#onAbort)
  }

  /** The trace hooks of the request (a dial made for it reports to them). */
  get trace(): ClientTrace | undefined {
    return this.acquirer.trace
  }

  /** `METHOD url`, credentials removed: names the request in the errors of a dial made for it (made only for a message). */
  get what(): string {
    return this.acquirer.what
  }

  static #abortListener(waiter: ConnWaiter): () => void {
    return () => waiter.#aborted()
  }

  #aborted(): void {
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
    this.owner.handOver(this.acquirer, this.pool, conn, wasIdle)
    return true
  }

  fail(error: unknown): boolean {
    if (this.done) return false
    this.#settle(false)
    this.acquirer.fail(error)
    return true
  }

  #settle(gotConn: boolean): void {
    this.done = true
    this.#deadline?.disarm()
    if (this.#onAbort !== undefined) this.acquirer.signal.removeEventListener('abort', this.#onAbort)
    if (!this.#announced) return
    const request = this.#request
    this.#request = undefined
    if (channels.dequeued.hasSubscribers) channels.dequeued.publish({ key: this.pool.key, request, gotConn })
  }
}
