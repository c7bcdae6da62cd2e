import type { CallSignal } from '@roundtrip/core'
import type { Holder, PersistConn } from './conn.js'
import type { HostPool, Waiter } from './pool.js'
import { channels, type ClientTrace } from './trace.js'

/** What a waiter needs from the transport: the hand-over of a conn. */
export interface WaiterOwner {
  deliverTo(pool: HostPool, conn: PersistConn, holder: Holder, trace: ClientTrace | undefined, wasIdle: boolean): void
}

/** ConnWaiter is one request waiting for a conn (Go's `wantConn`). */
export class ConnWaiter implements Waiter {
  done = false
  dialStarted = false
  #timer: NodeJS.Timeout | undefined
  #onAbort: (() => void) | undefined

  constructor(
    readonly owner: WaiterOwner,
    readonly pool: HostPool,
    readonly holder: Holder,
    readonly trace: ClientTrace | undefined,
    readonly signal: CallSignal,
    readonly resolve: (conn: PersistConn) => void,
    readonly reject: (error: unknown) => void,
  ) {
    this.#onAbort = () => {
      if (channels.waitFailed.hasSubscribers) channels.waitFailed.publish({ key: pool.key, reason: 'aborted' })
      this.fail(signal.reason)
    }
    signal.addEventListener('abort', this.#onAbort, { once: true })
  }

  expireAfter(ms: number, error: () => Error): void {
    this.#timer = setTimeout(() => this.fail(error()), ms)
  }

  deliver(conn: PersistConn, wasIdle: boolean): boolean {
    if (this.done) return false
    this.#settle()
    this.owner.deliverTo(this.pool, conn, this.holder, this.trace, wasIdle)
    this.resolve(conn)
    return true
  }

  fail(error: unknown): boolean {
    if (this.done) return false
    this.#settle()
    this.reject(error)
    return true
  }

  #settle(): void {
    this.done = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#onAbort !== undefined) this.signal.removeEventListener('abort', this.#onAbort)
  }
}
