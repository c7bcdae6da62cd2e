import type { CallSignal } from '@roundtrip/core'
import type { Holder, PersistConn } from './conn.js'
import type { HostPool } from './pool.js'
import type { ClientTrace } from './trace.js'
import type { ConnWaiter, Got } from './waiter.js'

/**
 * Acquirer is one request on its way to a connection, whichever way it came
 * in: a `roundTrip` (call.ts's Call) or an undici dispatch on the fast path
 * (direct-dispatch.ts's DirectDispatch). The Transport gets it a conn (an
 * idle one, one released in this turn once the turn has ended, a dialed or
 * freed one as a waiter, an HTTP/2 stream) and then calls {@link send} with
 * it, or {@link fail} when it gets none: both kinds of request alike, with
 * no closure or promise per waiting request. It is also the {@link Holder}
 * its conn names.
 */
export interface Acquirer extends Holder {
  /** The pool it takes a conn from (the Transport looks up the live one if this one left the map). */
  pool: HostPool
  readonly trace: ClientTrace | undefined
  /** What aborts the wait (and the request). */
  readonly signal: CallSignal
  /** `METHOD url`, credentials removed, for messages (a getter: made only when one is written). */
  readonly what: string
  /** The Request, for the `queued` channel message; an undici dispatch has none. */
  readonly request?: Request
  /** An idle conn released in the current turn, which it takes once the turn has ended (after-turn.ts's TurnQueue). */
  turnConn: PersistConn | undefined
  /** The waiter of a dial raced against that wait (transport.ts's raceDial), until the race is decided. */
  race: ConnWaiter | undefined
  /** Sends the request on `got`, which it now holds (HTTP/1.1 conn) or leases (HTTP/2 stream). */
  send(got: Got): void
  /** Fails the request before it was sent (no conn: closed, aborted, a wait or dial that failed); once. */
  fail(error: unknown): void
}
