import type { Acquirer } from './acquirer.js'
import type { PersistConn } from './conn.js'
import { ERR_TRANSPORT_CLOSED, TransportError } from './errors.js'
import { takeConn } from './lease.js'
import { putIdleOrDeliver, release, type PoolHost } from './pool-policy.js'
import { afterTurn, type TurnTask } from './turn.js'

/** What the end-of-turn takeover uses of the Transport. */
export interface TurnOwner {
  readonly host: PoolHost
  /** now reads the Transport's clock. */
  now(): number
  /** sendOn sends `acquirer` on the conn it took; what throws fails it. */
  sendOn(acquirer: Acquirer, conn: PersistConn): void
  /** resend has `acquirer` look for another conn: the one it waited for is gone. */
  resend(acquirer: Acquirer): void
}

/**
 * TurnQueue has requests take a conn released in the current turn once the
 * turn has ended (see turn.ts): if the server closed it or sent unasked-for
 * bytes meanwhile, it is gone, and the request looks for another conn. The
 * requests of a turn wait in one list, taken by one `setImmediate` (at c64
 * nearly every request comes here: no promise or timer per request). A
 * waiter's request comes here with the conn already taken (counted as its).
 */
export class TurnQueue implements TurnTask {
  readonly #owner: TurnOwner
  #acquirers: Acquirer[] = []

  constructor(owner: TurnOwner) {
    this.#owner = owner
  }

  /** add has `acquirer` take `conn` once the turn has ended. */
  add(acquirer: Acquirer, conn: PersistConn): undefined {
    acquirer.turnConn = conn
    if (this.#acquirers.push(acquirer) === 1) afterTurn(this)
    return undefined
  }

  /** turnEnded (TurnTask) has the requests of the turn that ended take their conns. */
  turnEnded(): void {
    const acquirers = this.#acquirers
    this.#acquirers = []
    const owner = this.#owner
    for (const acquirer of acquirers) {
      const conn = acquirer.turnConn
      // The dial raced against the wait won (pool-policy.ts's dialWon): the request is on its way already.
      if (conn === undefined) continue
      acquirer.turnConn = undefined
      const closed = owner.host.closed()
      const race = acquirer.race
      if (race !== undefined) {
        acquirer.race = undefined
        // The conn waited for died: the request waits for the raced dial (or a conn freed first), as any waiter.
        if (conn.closed && !race.done && !closed && !acquirer.signal.aborted) {
          race.adopt()
          continue
        }
        // The race is over: the dial's conn will go idle, for the next request.
        race.cancel()
      }
      // Handed to the request as a waiter (busy, held by it), or still in no list since it left the idle one.
      const taken = conn.holder === acquirer
      if (closed) {
        conn.close('transport closed')
        acquirer.fail(new TransportError(ERR_TRANSPORT_CLOSED, `transport is closed (${acquirer.what})`))
      } else if (acquirer.signal.aborted) {
        if (taken) release(owner.host, conn, undefined)
        else if (!conn.closed) putIdleOrDeliver(owner.host, conn.pool, conn)
        acquirer.fail(acquirer.signal.reason)
      } else if (!conn.closed) {
        if (!taken) takeConn(acquirer.pool, conn, acquirer, acquirer.trace, true, owner.now())
        owner.sendOn(acquirer, conn)
      } else owner.resend(acquirer)
    }
  }
}
