import { neverAborts, type CallSignal } from '@roundtrip/core'
import type { Clock } from './clock.js'
import type { Holder, PersistConn } from './conn.js'
import { Deadline } from './deadlines.js'
import { requestLabel } from './errors.js'
import type { H2Conn } from './h2-conn.js'
import type { H2Lease } from './h2-stream.js'
import type { HostPool, Waiter } from './pool.js'
import { channels, type ClientTrace } from './trace.js'

/** What a request gets from the pool: an HTTP/1.1 conn of its own, or a stream of an HTTP/2 conn. */
export type Got = PersistConn | H2Lease

/** What a waiter needs from the transport: the hand-over of a conn (for HTTP/2, of one of its streams). */
export interface WaiterOwner {
  deliverTo(pool: HostPool, conn: PersistConn | H2Conn, holder: Holder, trace: ClientTrace | undefined, wasIdle: boolean): Got
}

/** ConnWaiter is one request waiting for a conn (Go's `wantConn`). */
export class ConnWaiter implements Waiter {
  done = false
  dialStarted = false
  #deadline: Deadline | undefined
  #onAbort: (() => void) | undefined
  /** Announced on `queued` (see {@link queued}): its end is announced on `dequeued`. */
  #announced = false
  /** The waiting Request, while an announced wait lasts (undefined for an undici dispatch). */
  #request: Request | undefined = undefined

  constructor(
    readonly owner: WaiterOwner,
    readonly pool: HostPool,
    readonly holder: Holder,
    readonly trace: ClientTrace | undefined,
    readonly signal: CallSignal,
    readonly resolve: (got: Got) => void,
    readonly reject: (error: unknown) => void,
  ) {
    // Not `this.#onAbort = () => …`: V8 would allocate that closure in the
    // old generation, keeping the waiter's request alive through young GCs
    // (see Exchange's abort listener).
    if (neverAborts(signal)) return
    this.#onAbort = ConnWaiter.#abortListener(this)
    signal.addEventListener('abort', this.#onAbort)
  }

  /** `METHOD url`, credentials removed: names the request in the errors of a dial made for it (made only for a message). */
  get what(): string {
    return requestLabel(this.holder.method, this.holder.url)
  }

  static #abortListener(waiter: ConnWaiter): () => void {
    return () => waiter.#aborted()
  }

  #aborted(): void {
    if (channels.waitFailed.hasSubscribers) channels.waitFailed.publish({ key: this.pool.key, reason: 'aborted' })
    this.fail(this.signal.reason)
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
    this.resolve(this.owner.deliverTo(this.pool, conn, this.holder, this.trace, wasIdle))
    return true
  }

  fail(error: unknown): boolean {
    if (this.done) return false
    this.#settle(false)
    this.reject(error)
    return true
  }

  #settle(gotConn: boolean): void {
    this.done = true
    this.#deadline?.disarm()
    if (this.#onAbort !== undefined) this.signal.removeEventListener('abort', this.#onAbort)
    if (!this.#announced) return
    const request = this.#request
    this.#request = undefined
    if (channels.dequeued.hasSubscribers) channels.dequeued.publish({ key: this.pool.key, request, gotConn })
  }
}
