import type { Holder, PersistConn } from './conn.js'
import type { H2Conn } from './h2-conn.js'
import type { H2Lease } from './h2-stream.js'
import type { HostPool } from './pool.js'
import { channels, reportGotConn, type ClientTrace } from './trace.js'

// Taking a connection for one request, on either protocol: the pool's
// accounting and the gotConn report. The Transport decides which conn.

/** takeConn marks HTTP/1.1 `conn` busy for a request and reports it to the trace. */
export function takeConn(pool: HostPool, conn: PersistConn, holder: Holder, trace: ClientTrace | undefined, wasIdle: boolean, now: number): PersistConn {
  const reused = conn.requests > 0
  // The idle time (before markBusy) and the pool's key only for a report someone hears (as reportGotConn decides).
  const report = trace?.gotConn !== undefined || channels.gotConn.hasSubscribers
  const idleTime = report && wasIdle ? conn.idleTime(now) : 0
  holder.since = now
  conn.markBusy(holder)
  pool.busy.add(conn)
  pool.countRequest(reused)
  if (report) reportGotConn(pool.key, conn.socket, trace, reused, wasIdle, idleTime, 'http/1.1', false)
  return conn
}

/**
 * takeStream takes a stream of HTTP/2 `conn` (which has one free) for a
 * request and reports it to the trace; with `oneRequest` (keep-alives
 * disabled) the conn takes no other stream and closes after this one.
 */
export function takeStream(pool: HostPool, conn: H2Conn, holder: Holder, trace: ClientTrace | undefined, now: number, oneRequest: boolean): H2Lease {
  const reused = conn.requests > 0
  const shared = conn.streams > 0
  holder.since = now
  const idleTime = conn.idleTime(now)
  const lease = conn.reserve(holder)
  pool.countRequest(reused)
  reportGotConn(pool.key, conn.socket, trace, reused, !shared, idleTime, 'h2', shared)
  if (oneRequest) conn.retire()
  return lease
}
