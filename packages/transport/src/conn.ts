import type { Duplex } from 'node:stream'
import { Client } from 'undici'
import type { ConnectMethod } from './connect-method.js'
import type { ConnList } from './conn-list.js'
import type { HostPool } from './pool.js'
import { Deadline, idleExpired } from './deadlines.js'
import type { ResolvedOptions } from './resolve-options.js'

/** Holder describes the request that is using a busy connection. */
export interface Holder {
  /** The request method. */
  method: string
  /** The request URL, credentials removed. */
  url: string
  /** When the request got the connection (the transport's clock), for ages. */
  since: number
}

let nextId = 1
/** The code of the error a request gets when undici would redial a dead conn for it: nothing of it was written. */
export const CONN_NOT_REDIALED = 'RT_CONN_NOT_REDIALED'
/** undici's parser's `onHeadersComplete`. */
type ParserCallback = (statusCode: number, upgrade: boolean, keepAlive: boolean) => number
/** The interim status undici's parser is shown for a `100 Continue` it would refuse. */
const INTERIM_ALIAS = 199

/**
 * PersistConn is one pooled connection: a socket we dialed and the undici
 * `Client` (pipelining 1) that speaks HTTP/1.1 on it. The Client can never
 * reconnect: its connector hands over our socket once and refuses after
 * that, so when the socket goes, the conn is dead and leaves the pool.
 */
export class PersistConn {
  readonly id = nextId++
  /** How the conn was made (its pool's connect method). */
  readonly method: ConnectMethod
  /** The pool the conn counts in; it stays this conn's pool after the transport forgot it. */
  readonly pool: HostPool
  readonly client: Client
  readonly socket: Duplex
  /** Requests sent on this conn so far. */
  requests = 0
  /** When the conn last became idle (the transport's clock), or -1. */
  idleAt = -1
  /** The turn in which the conn last finished a request and went back to the pool (see turn.ts), or -1. */
  releaseTurn = -1
  /** Idle limit for this conn: the transport's, shortened by a `Keep-Alive: timeout` hint. 0 means none. */
  idleLimit: number
  /** False once the server asked to close (`Connection: close`) or keep-alives are off. */
  reusable = true
  /** The last `Keep-Alive` hint applied (see deadlines.ts). */
  keepAliveHint: string | undefined = undefined
  /** The request using the conn while it is busy. */
  holder: Holder | undefined
  /** The {@link ConnList} the conn is in (its pool's busy list, or the transport's idle LRU), and its neighbours there. */
  list: ConnList | undefined = undefined
  listPrev: PersistConn | undefined = undefined
  listNext: PersistConn | undefined = undefined
  #closed = false
  #parserPatched = false
  #saw100 = false
  /** Closes the conn once it has been idle for `idleLimit`. */
  readonly #idleDeadline: Deadline
  /** When the idle deadline fires (the transport's clock), or -1 when it is not armed. */
  #idleDue = -1
  readonly #clock: ResolvedOptions['clock']
  #onDead: (conn: PersistConn, reason: string) => void

  constructor(pool: HostPool, socket: Duplex, options: ResolvedOptions, onDead: (conn: PersistConn, reason: string) => void) {
    const method = pool.method
    this.pool = pool
    this.method = method
    this.socket = socket
    this.idleLimit = options.idleConnTimeout
    this.#onDead = onDead
    this.#clock = options.clock
    // Not re-armed per response: when it fires, a conn that has not been idle
    // for its whole limit gets the rest (see #idleExpired).
    this.#idleDeadline = new Deadline(options.clock, () => this.#idleExpired(), true)
    let handedOver = false
    // Our idle timeout is authoritative; undici's own keep-alive timer is set
    // to the same value so that it never closes a conn we still count as usable.
    const keepAlive = options.idleConnTimeout > 0 ? options.idleConnTimeout : 3_600_000
    this.client = new Client(method.clientOrigin, {
      pipelining: 1,
      maxHeaderSize: options.maxResponseHeaderBytes,
      headersTimeout: options.responseHeaderTimeout,
      bodyTimeout: options.bodyTimeout,
      keepAliveTimeout: keepAlive,
      keepAliveMaxTimeout: keepAlive,
      keepAliveTimeoutThreshold: 1_000,
      connect: (_opts, callback) => {
        if (handedOver) {
          // Never reconnect: a dead socket means a dead conn.
          // A request queued on it was never written: the code says so (see exchange.ts).
          const error = Object.assign(new Error('roundtrip: connection is closed and is not redialed'), { code: CONN_NOT_REDIALED })
          process.nextTick(callback, error, null)
          return
        }
        handedOver = true
        // undici expects the callback to be called asynchronously.
        process.nextTick(callback, null, socket as never)
      },
    })
    // Until undici attaches its own listeners (first request), and after, a
    // socket error must not crash the process: it shows as 'close'.
    socket.on('error', noop)
    socket.once('close', () => this.#dead('socket closed'))
    this.client.on('disconnect', noop)
    this.client.on('connectionError', noop)
  }

  /**
   * acceptUnsolicited100 lets a `100 Continue` the client did not ask for
   * through as an interim response. undici's parser destroys the socket on
   * one ("bad response") because it never sends `Expect: 100-continue`; Go
   * and browsers skip it like any other 1xx. The parser of this conn's
   * socket (and only it) is told a 100 is a 199, which undici skips as
   * interim; {@link takeInterimStatus} gives the real status back. Called
   * when a request starts on the conn: the parser exists by then.
   */
  acceptUnsolicited100(): void {
    if (this.#parserPatched) return
    this.#parserPatched = true
    const socket = this.socket as unknown as Record<symbol, unknown>
    const key = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'parser')
    const parser = (key === undefined ? undefined : socket[key]) as { onHeadersComplete?: unknown } | null | undefined
    const original = parser?.onHeadersComplete
    if (parser == null || typeof original !== 'function') return
    // Made by a function: a function literal assigned to a property is allocated in V8's old generation (see exchange.ts).
    parser.onHeadersComplete = PersistConn.#aliasing100(this, parser, original as ParserCallback)
  }

  static #aliasing100(conn: PersistConn, parser: object, original: ParserCallback): ParserCallback {
    return (statusCode, upgrade, keepAlive) => {
      if (statusCode === 100) {
        conn.#saw100 = true
        statusCode = INTERIM_ALIAS
      }
      return original.call(parser, statusCode, upgrade, keepAlive)
    }
  }

  /** The status of an interim response as the server sent it (see {@link acceptUnsolicited100}). */
  takeInterimStatus(status: number): number {
    if (status !== INTERIM_ALIAS || !this.#saw100) return status
    this.#saw100 = false
    return 100
  }

  /** Whether the socket is gone or the conn was closed. */
  get closed(): boolean {
    return this.#closed
  }

  /** How long the conn has been idle, in ms (0 when busy). */
  idleTime(now: number): number {
    return this.idleAt < 0 ? 0 : now - this.idleAt
  }

  /** Whether an idle conn is past its idle limit at `now`. */
  expired(now: number): boolean {
    return idleExpired(this.idleAt, this.idleLimit, now)
  }

  /**
   * Marks the conn idle at `now` and makes sure its idle deadline fires by
   * the end of its idle limit. A deadline already due by then is left as it
   * is (no timer work per response); {@link #idleExpired} closes the conn or
   * waits out the rest.
   */
  markIdle(now: number): void {
    this.idleAt = now
    this.holder = undefined
    const limit = this.idleLimit
    if (limit <= 0) {
      this.#idleDeadline.disarm()
      this.#idleDue = -1
    } else if (this.#idleDue < 0 || this.#idleDue > now + limit || !this.#idleDeadline.armed) {
      this.#idleDeadline.arm(limit)
      this.#idleDue = now + limit
    }
  }

  #idleExpired(): void {
    this.#idleDue = -1
    // A busy conn is armed again when it next becomes idle.
    if (this.idleAt < 0 || this.idleLimit <= 0) return
    const now = this.#clock.now()
    const rest = this.idleAt + this.idleLimit - now
    if (rest <= 0) return this.close('idle timeout')
    this.#idleDeadline.arm(rest)
    this.#idleDue = now + rest
  }

  /** Marks the conn busy for `holder`. */
  markBusy(holder: Holder): void {
    this.idleAt = -1
    this.holder = holder
    this.requests++
  }

  /** Closes the socket and the client. Idempotent. */
  close(reason: string): void {
    if (this.#closed) return
    this.socket.destroy()
    this.#dead(reason)
  }

  #dead(reason: string): void {
    this.#idleDeadline.disarm()
    if (this.#closed) return
    this.#closed = true
    this.client.destroy().catch(noop)
    this.#onDead(this, reason)
  }
}

function noop(): void {}
