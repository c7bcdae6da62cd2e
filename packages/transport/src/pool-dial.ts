import { PersistConn } from './conn.js'
import { dialConn } from './dial.js'
import { ERR_TRANSPORT_CLOSED, TransportError } from './errors.js'
import { H2Conn, type H2ConnEvents } from './h2-conn.js'
import type { HostPool } from './pool.js'
import type { ResolvedOptions } from './resolve-options.js'
import { negotiatedH2 } from './route.js'
import type { ClientTrace } from './trace.js'
import type { ConnWaiter } from './waiter.js'

// Dialing for a pool's waiters: a new conn goes to the waiter it was dialed
// for (or the next one, or the idle pool); a freed slot starts the next
// waiter's dial. The Transport's side of it is a DialHost.

/** What dialing uses of its Transport (kept off the public surface). */
export interface DialHost {
  readonly options: ResolvedOptions
  /** Aborted when the Transport closes: every dial listens on it. */
  readonly closing: AbortSignal
  readonly h2Events: H2ConnEvents
  readonly onDead: (conn: PersistConn, reason: string) => void
  closed(): boolean
  putIdleOrDeliver(pool: HostPool, conn: PersistConn): void
  serveH2(pool: HostPool): void
  forgetIfEmpty(pool: HostPool): void
  checkDrained(): void
}

/** dialConnFor dials a conn on behalf of `waiter`; if the waiter is gone by then, the conn goes to the next one or the idle pool. */
export function dialConnFor(host: DialHost, pool: HostPool, waiter: ConnWaiter, trace: ClientTrace | undefined, what: string): void {
  pool.startDial()
  waiter.dialStarted = true
  const failed = (error: unknown): void => {
    pool.endDial(false)
    waiter.fail(error)
    // Requests that waited for this dial's streams share its failure (as Go's HTTP/2 dial call), unless a live conn will serve them.
    if (pool.protocol !== 'http1' && !pool.hasLiveH2) for (const w of pool.dialQueue.splice(0)) w.fail(error)
    decConnsPerHost(host, pool)
    host.forgetIfEmpty(pool)
    host.checkDrained()
  }
  dialConn(pool.method, host.options, trace, what, host.closing).then(
    (socket) => {
      let h2: boolean
      try {
        h2 = negotiatedH2(pool, socket, host.options.protocols)
      } catch (error) {
        socket.destroy()
        return failed(error)
      }
      pool.endDial(true)
      const conn = h2 ? new H2Conn(pool, socket, host.options, host.h2Events) : new PersistConn(pool, socket, host.options, host.onDead)
      if (host.closed()) {
        conn.close('transport closed')
        waiter.fail(new TransportError(ERR_TRANSPORT_CLOSED, `transport closed while connecting (${what})`))
        return
      }
      if (conn instanceof H2Conn) {
        pool.protocol = 'h2'
        pool.h2.push(conn)
        waiter.deliver(conn, false)
        host.serveH2(pool)
        return
      }
      // Requests that waited for this dial to learn the protocol get dials of their own now.
      const learned = pool.protocol === 'unknown'
      if (learned) pool.protocol = 'http1'
      if (!waiter.deliver(conn, false)) host.putIdleOrDeliver(pool, conn)
      if (learned) decConnsPerHost(host, pool)
    },
    failed,
  )
}

/** decConnsPerHost: a slot freed up, so dial for the first waiter that has no dial of its own. */
export function decConnsPerHost(host: DialHost, pool: HostPool): void {
  if (host.closed()) return
  const max = host.options.maxConnsPerHost
  if (pool.protocol !== 'http1') {
    // HTTP/2: one dial at a time, whose streams serve the queue; none while streams will free up (strict).
    if (pool.waitsForStreams(host.options.http2.strictMaxConcurrentStreams) || (max > 0 && pool.conns >= max)) return
    let waiter = pool.dialQueue.shift() as ConnWaiter | undefined
    while (waiter?.done === true) waiter = pool.dialQueue.shift() as ConnWaiter | undefined
    if (waiter !== undefined) dialConnFor(host, pool, waiter, waiter.trace, `${waiter.holder.method} ${waiter.holder.url}`)
    return
  }
  while (pool.dialQueue.length > 0 && (max === 0 || pool.conns < max)) {
    const waiter = pool.dialQueue.shift() as ConnWaiter
    if (waiter.done) continue
    dialConnFor(host, pool, waiter, waiter.trace, `${waiter.holder.method} ${waiter.holder.url}`)
  }
}
