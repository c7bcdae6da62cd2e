import { connect, type ClientHttp2Session } from 'node:http2'
import type { Duplex } from 'node:stream'
import type { Clock } from './clock.js'
import type { Holder } from './conn.js'
import { ConnList } from './conn-list.js'
import type { ConnectMethod } from './connect-method.js'
import { Deadline, preciseLimit, PRECISE_BELOW } from './deadlines.js'
import { H2Lease } from './h2-stream.js'
import type { ResolvedOptions } from './resolve-options.js'
import type { HostPool } from './pool.js'

/** Streams assumed allowed before the server's SETTINGS arrive (as Go's `initialMaxConcurrentStreams`). */
const INITIAL_MAX_STREAMS = 100
/** Most streams used on one conn, whatever the server allows (as Go's `defaultMaxConcurrentStreams`); Node's server says 2³²−1 by default. */
const MAX_STREAMS_CAP = 1000
/** Stream ids are 31-bit: before a GOAWAY, every stream counts as under the last one the server processes. */
const NO_GOAWAY = 2 ** 31
/** How often the streams' header and body limits are checked: limits under this run on the Exchange's precise timers. */
const SWEEP_INTERVAL = PRECISE_BELOW

/** coarseLimit is `ms` when a header or body limit of `ms` is left to the conn's sweep, else 0 (none, or precise). */
function coarseLimit(ms: number): number {
  return ms > 0 && preciseLimit(ms) === 0 ? ms : 0
}

/** What an {@link H2Conn} tells its transport. */
export interface H2ConnEvents {
  /** The conn is gone (closed, reset, PING unanswered); called once. */
  dead(conn: H2Conn, reason: string): void
  /** The conn can take more streams, or no longer can (SETTINGS, GOAWAY): waiters may be served or need a dial. */
  changed(conn: H2Conn): void
}

/**
 * H2Conn is one pooled HTTP/2 connection: a socket we dialed and the
 * `node:http2` session over it, shared by up to the server's
 * `SETTINGS_MAX_CONCURRENT_STREAMS` requests at once (Go's `pconn.alt`). It
 * stays usable while it has free streams; a stream is held from the moment a
 * request gets the conn until its response body has arrived in full (read or
 * not) or failed. An unread body holds its stream, never the conn: flow
 * control is per stream, and the connection window is large.
 *
 * States: open → (GOAWAY received: going away, no new streams; closes when
 * its last stream ends) → closed. A closed conn never reopens.
 *
 * The held streams are a list linked through their {@link H2Lease}s:
 * taking and giving back a stream allocates nothing. While the conn has
 * streams, one sweep about every second checks their header and body
 * limits (of 1 s and more), instead of a timer per request.
 */
export class H2Conn {
  readonly pool: HostPool
  readonly method: ConnectMethod
  readonly socket: Duplex
  readonly session: ClientHttp2Session
  /** `https` or `http`: the `:scheme` of every request on the conn. */
  readonly scheme: string
  /** `responseHeaderTimeout` and `bodyTimeout` when the sweep checks them (1 s and more), else 0. */
  readonly headLimit: number
  readonly bodyLimit: number
  /** Requests served on this conn so far. */
  requests = 0
  /** The most streams the server allows at once (its SETTINGS), capped at 1000. */
  maxStreams = INITIAL_MAX_STREAMS
  /** Set when the server sent GOAWAY (or the conn is retired): no new streams. */
  goingAway = false
  /** The last stream id the server says it processed (GOAWAY); streams above it were not. */
  lastStreamId = NO_GOAWAY
  /** The error the session failed with (a socket error such as ECONNRESET), if any. */
  error: Error | undefined
  /** When the conn last had no stream (on the transport's clock), or -1 while it has some. */
  idleAt = -1
  #closed = false
  readonly #options: ResolvedOptions
  readonly #events: H2ConnEvents
  readonly #clock: Clock
  /** Closes the conn after `idleConnTimeout` without a stream. */
  readonly #idleDeadline: Deadline
  /** Sends a PING after `http2.pingInterval` without a stream. */
  readonly #pingDue: Deadline
  /** Closes the conn when a PING's answer is later than `http2.pingTimeout`. */
  readonly #pingDeadline: Deadline
  #pinging = false
  /** Checks the streams' header and body limits while the conn has streams (null when no limit is left to it). */
  readonly #sweep: Deadline | null
  /** The held streams, oldest first, linked through their leases. */
  readonly #leases = new ConnList<H2Lease>()

  constructor(pool: HostPool, socket: Duplex, options: ResolvedOptions, events: H2ConnEvents) {
    this.pool = pool
    this.method = pool.method
    this.socket = socket
    this.#options = options
    this.#events = events
    this.#clock = options.clock
    this.#idleDeadline = new Deadline(this.#clock, () => this.streams === 0 && this.close('idle timeout'), true)
    this.#pingDue = new Deadline(this.#clock, () => this.streams === 0 && this.#ping(), true)
    this.#pingDeadline = new Deadline(this.#clock, () => this.close(`PING not answered within ${options.http2.pingTimeout} ms`), true)
    this.scheme = pool.method.target.protocol === 'https:' ? 'https' : 'http'
    this.headLimit = coarseLimit(options.responseHeaderTimeout)
    this.bodyLimit = coarseLimit(options.bodyTimeout)
    this.#sweep = this.headLimit > 0 || this.bodyLimit > 0 ? new Deadline(this.#clock, () => this.#sweepStreams(), true) : null
    const h2 = options.http2
    this.session = connect(pool.method.target.key, {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: h2.initialWindowSize },
      peerMaxConcurrentStreams: INITIAL_MAX_STREAMS,
    })
    const session = this.session
    // Errors show as 'close' (the session is destroyed with them); each stream gets its own.
    session.on('error', (error: Error) => {
      this.error ??= error
    })
    socket.on('error', noop)
    session.on('connect', () => {
      if (!session.destroyed) session.setLocalWindowSize(h2.connectionWindowSize)
    })
    session.on('remoteSettings', (settings) => {
      const max = settings.maxConcurrentStreams
      this.maxStreams = max === undefined || max > MAX_STREAMS_CAP ? MAX_STREAMS_CAP : max
      this.#events.changed(this)
    })
    session.on('goaway', (_code: number, lastStreamId: number) => {
      this.lastStreamId = lastStreamId
      this.goingAway = true
      this.#events.changed(this)
      // Node closes the session itself: gracefully (streams at or under lastStreamId finish) or at once for an error code.
    })
    session.once('close', () => this.#dead(this.goingAway ? 'connection closed after GOAWAY' : 'connection closed'))
    this.#idle()
  }

  /** Whether the conn is gone. */
  get closed(): boolean {
    return this.#closed
  }

  /** Whether a new stream may start now. */
  get available(): boolean {
    // The session may be destroyed (its socket reset) before its 'close' event reaches us.
    return !this.#closed && !this.goingAway && this.streams < this.maxStreams && !this.session.destroyed && !this.session.closed
  }

  /** Streams held (reserved for a request, or open). */
  get streams(): number {
    return this.#leases.size
  }

  /** The requests holding a stream, oldest first, for `stats()` and the pool-exhausted error. */
  get holders(): Holder[] {
    const holders: Holder[] = []
    for (let lease = this.#leases.first(); lease !== undefined; lease = lease.listNext) holders.push(lease.holder)
    return holders
  }

  /** How long the conn has had no stream, in ms (0 while it has some). */
  idleTime(now: number): number {
    return this.idleAt < 0 ? 0 : now - this.idleAt
  }

  /** wasProcessed reports whether the server may have acted on stream `id` (at or under GOAWAY's last stream id). */
  mayHaveProcessed(id: number | undefined): boolean {
    return id !== undefined && id <= this.lastStreamId
  }

  /** reserve takes a stream for `holder` (whose `since` is set) and returns its lease; the caller checked {@link available}. */
  reserve(holder: Holder): H2Lease {
    const lease = new H2Lease(this, holder, ++this.requests)
    this.#leases.add(lease)
    // The idle and PING timers keep running (refreshed when the conn is idle
    // again: cheaper than clearing and making them per request); they act
    // only on a conn that has no stream.
    this.idleAt = -1
    if (this.#sweep !== null && !this.#sweep.armed) this.#sweep.arm(SWEEP_INTERVAL)
    return lease
  }

  /** release gives a lease's stream back (once; again is a no-op); the last one out of a conn going away closes it. */
  release(lease: H2Lease): void {
    if (!this.#leases.delete(lease)) return
    if (this.#leases.size > 0) return
    if (this.goingAway) this.close('connection going away')
    else this.#idle()
  }

  /** retire stops new streams on the conn (keep-alives disabled); it closes after its last stream. */
  retire(): void {
    this.goingAway = true
    if (this.streams === 0) this.close('keep-alive disabled')
  }

  /** close ends the session now (streams still open fail) and destroys the socket. Idempotent. */
  close(reason: string): void {
    if (this.#closed) return
    this.session.destroy()
    this.socket.destroy()
    this.#dead(reason)
  }

  /** An idle conn: the idle timeout and the PING health check run. */
  #idle(): void {
    this.idleAt = this.#clock.now()
    this.#idleDeadline.arm(this.#options.idleConnTimeout)
    if (!this.#pinging) this.#pingDue.arm(this.#options.http2.pingInterval)
  }

  /** ping checks that the server still answers; no answer within `pingTimeout` closes the conn before a request is sent on it. */
  #ping(): void {
    this.#pinging = true
    this.#pingDeadline.arm(this.#options.http2.pingTimeout)
    const sent = this.session.ping((error) => {
      this.#pinging = false
      this.#pingDeadline.disarm()
      if (error !== null) this.close(`PING failed: ${error.message}`)
      else if (this.streams === 0) this.#pingDue.arm(this.#options.http2.pingInterval)
    })
    if (!sent) this.close('PING could not be sent')
  }

  /** sweepStreams fails the streams whose head or body is late, and runs again while the conn has streams. */
  #sweepStreams(): void {
    const now = this.#clock.now()
    for (let lease = this.#leases.first(); lease !== undefined && !this.#closed; ) {
      // A late stream fails, and its release unlinks it: take its neighbour first.
      const next = lease.listNext
      lease.checkDeadline(now)
      lease = next
    }
    if (this.#leases.size > 0 && !this.#closed) this.#sweep!.arm(SWEEP_INTERVAL)
  }

  #stopTimers(): void {
    this.#idleDeadline.disarm()
    this.#pingDue.disarm()
    this.#sweep?.disarm()
  }

  #dead(reason: string): void {
    this.#stopTimers()
    this.#pingDeadline.disarm()
    if (this.#closed) return
    this.#closed = true
    if (!this.session.destroyed) this.session.destroy()
    this.socket.destroy()
    this.#events.dead(this, reason)
  }
}

function noop(): void {}
