import type { HostPool } from './pool.js'
import type { Holder } from './conn.js'

/** HolderInfo names a request that holds a busy connection. */
export interface HolderInfo {
  /** Request method. */
  method: string
  /** Request URL without credentials. */
  url: string
  /** How long it has held the connection, in ms. */
  ageMs: number
}

/** Http2ConnStats describes one HTTP/2 connection of a pool. */
export interface Http2ConnStats {
  /** Streams in use (requests whose response has not fully arrived, read or not). */
  streams: number
  /** The most streams the server allows at once (its `SETTINGS_MAX_CONCURRENT_STREAMS`, capped at 1000). */
  maxConcurrentStreams: number
  /** Requests served on it so far. */
  requests: number
  /** The server sent GOAWAY: no new streams, it closes after its last one. */
  goingAway: boolean
}

/** HostStats is a snapshot of one pool (one `scheme://host:port`), or of all of them in `total`. */
export interface HostStats {
  /** Connections in use by a request (busy), including responses whose body is still being read; an HTTP/2 connection counts while it has a stream open. */
  active: number
  /** Connections idle in the pool, ready for reuse (an HTTP/2 connection with no stream open). */
  idle: number
  /** Requests waiting for a connection. */
  waiting: number
  /** Connections being dialed. */
  dialing: number
  /** Connections dialed so far (successful or not). */
  dials: number
  /** Requests that got a connection so far. */
  requests: number
  /** Of those, how many were served on a connection used before. */
  reusedRequests: number
  /** The requests holding the active connections (for HTTP/2, their streams), oldest first. */
  holders: HolderInfo[]
  /** HTTP/2 streams in use, over every HTTP/2 connection. */
  streams: number
  /** Each HTTP/2 connection with its streams in use (empty for HTTP/1.1). */
  http2: Http2ConnStats[]
}

/** TransportStats is what `Transport.stats()` returns. */
export interface TransportStats {
  /** Sums over every host. */
  total: HostStats
  /**
   * Per pool key (`http://127.0.0.1:8080`). A pool with no connections and
   * no waiters is forgotten, and leaves this list; its counters (`dials`,
   * `requests`, `reusedRequests`) stay in `total` and start again from zero
   * if the host is met again.
   */
  hosts: Record<string, HostStats>
}

/** emptyHostStats returns a zeroed HostStats. */
function emptyHostStats(): HostStats {
  return { active: 0, idle: 0, waiting: 0, dialing: 0, dials: 0, requests: 0, reusedRequests: 0, holders: [], streams: 0, http2: [] }
}

/** describeHolders formats holders for an error message: `GET http://a/x (held 210 ms)`. */
export function describeHolders(holders: HolderInfo[]): string {
  if (holders.length === 0) return 'none'
  return holders.map((h) => `${h.method} ${h.url} (held ${Math.round(h.ageMs)} ms)`).join(', ')
}

/** hostStats is the snapshot of one pool at `now` (a time of the transport's clock). */
export function hostStats(pool: HostPool, now: number): HostStats {
  const holders: HolderInfo[] = []
  const held = (h: Holder): number => holders.push({ method: h.method, url: h.url, ageMs: now - h.since })
  for (const conn of pool.busy.toArray()) {
    if (conn.holder !== undefined) held(conn.holder)
  }
  for (const conn of pool.h2) conn.holders.forEach(held)
  holders.sort((a, b) => b.ageMs - a.ageMs)
  let streams = 0
  let h2Idle = 0
  let h2Busy = 0
  const http2: Http2ConnStats[] = []
  for (const conn of pool.h2) {
    streams += conn.streams
    if (conn.streams === 0) h2Idle++
    else h2Busy++
    http2.push({ streams: conn.streams, maxConcurrentStreams: conn.maxStreams, requests: conn.requests, goingAway: conn.goingAway })
  }
  return {
    streams,
    http2,
    active: pool.busy.size + h2Busy,
    idle: pool.idle.length + h2Idle,
    waiting: pool.waiting,
    dialing: pool.dialing,
    dials: pool.dials,
    requests: pool.requests,
    reusedRequests: pool.reusedRequests,
    holders,
  }
}

/** Counters of pools that were forgotten (no conns, no waiters): they stay in the totals. */
export interface RetiredCounts {
  dials: number
  requests: number
  reusedRequests: number
}

/** retire adds the counters of a pool being forgotten to `retired`. */
export function retire(retired: RetiredCounts, pool: HostPool): void {
  retired.dials += pool.dials
  retired.requests += pool.requests
  retired.reusedRequests += pool.reusedRequests
}

/** poolStats is every pool's snapshot at `now` (the transport's clock), by pool key, and their sum (with the counters of forgotten pools). */
export function poolStats(pools: Map<string, HostPool>, retired: RetiredCounts, now: number): TransportStats {
  const total = emptyHostStats()
  total.dials = retired.dials
  total.requests = retired.requests
  total.reusedRequests = retired.reusedRequests
  const hosts: Record<string, HostStats> = {}
  for (const [key, pool] of pools) {
    const s = hostStats(pool, now)
    hosts[key] = s
    total.active += s.active
    total.idle += s.idle
    total.waiting += s.waiting
    total.dialing += s.dialing
    total.dials += s.dials
    total.requests += s.requests
    total.reusedRequests += s.reusedRequests
    total.holders.push(...s.holders)
    total.streams += s.streams
    total.http2.push(...s.http2)
  }
  total.holders.sort((a, b) => b.ageMs - a.ageMs)
  return { total, hosts }
}
