/**
 * The Transport's deadlines, in one place: how long a request may wait for
 * a connection (`maxWaitTime`), connect (`connectTimeout`), wait for the
 * response head (`responseHeaderTimeout`) and between body chunks
 * (`bodyTimeout`), and how long a connection may stay idle
 * (`idleConnTimeout`, shortened by a `Keep-Alive: timeout` hint). Each runs
 * on the transport's {@link Clock}, and each has its error built here, so a
 * timeout reads the same whoever noticed it (our timer or undici's). Nothing
 * here knows about HTTP/1.1 connections: any connection kind can use it.
 */
import type { RequestContext } from '@roundtrip/core'
import { errors } from 'undici'
import type { Clock, ClockTimer } from './clock.js'
import { latin1 } from './headers.js'
import { ERR_BODY_TIMEOUT, ERR_CONNECT_TIMEOUT, ERR_HEADERS_TIMEOUT, ERR_INVALID_REQUEST, ERR_POOL_EXHAUSTED, requestLabel, TransportError } from './errors.js'
import { MAX_TIMER_DELAY } from './options.js'
import type { ResolvedOptions } from './resolve-options.js'
import type { HostPool } from './pool.js'
import { describeHolders, hostStats } from './stats.js'

/**
 * Deadline is one restartable timer on a clock: armed for a number of ms,
 * refreshed, disarmed. Re-arming it for the same number of ms refreshes the
 * timer it has instead of making a new one (the idle timer of a busy
 * connection is re-armed after each response).
 */
export class Deadline {
  readonly #clock: Clock
  readonly #onExpire: () => void
  readonly #unref: boolean
  #timer: ClockTimer | undefined
  #ms = 0

  /**
   * `onExpire` runs when the deadline passes. An `unref` deadline does not
   * keep the process alive (an idle connection, a response being read);
   * one that a pending promise waits on (a dial, a queued request) does.
   */
  constructor(clock: Clock, onExpire: () => void, unref: boolean) {
    this.#clock = clock
    this.#onExpire = onExpire
    this.#unref = unref
  }

  /** Whether the timer is pending. */
  get armed(): boolean {
    return this.#timer !== undefined
  }

  /** Starts (or restarts) the timer for `ms`; a `ms` of 0 or less disarms it. */
  arm(ms: number): void {
    if (ms <= 0) return this.disarm()
    if (this.#timer !== undefined && this.#ms === ms) {
      this.#timer.refresh()
      return
    }
    this.disarm()
    this.#ms = ms
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined
      this.#onExpire()
    }, ms)
    if (this.#unref) this.#timer.unref?.()
  }

  /** Restarts a pending timer for its full delay; does nothing when disarmed. */
  refresh(): void {
    this.#timer?.refresh()
  }

  /** Cancels the timer. */
  disarm(): void {
    if (this.#timer === undefined) return
    this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

/**
 * Header and body limits below this many ms get a precise timer of ours;
 * longer ones are left to undici's, which run on a coarse clock (about 1 s
 * of resolution) and are cheaper per request.
 */
export const PRECISE_BELOW = 1_000

/** preciseLimit is `ms` when a header or body limit of `ms` needs a timer of ours, else 0. */
export function preciseLimit(ms: number): number {
  return ms > 0 && ms < PRECISE_BELOW ? ms : 0
}

/** {@link preciseStages}' flags: the head or the body stage has a limit {@link armStage} arms a deadline for. */
export const PRECISE_HEAD = 1
export const PRECISE_BODY = 2

/** preciseStages tells, once per Transport, which stages of `options` have a limit under 1 s: {@link PRECISE_HEAD} and {@link PRECISE_BODY} or'ed. */
export function preciseStages(options: ResolvedOptions): number {
  return (preciseLimit(options.responseHeaderTimeout) === 0 ? 0 : PRECISE_HEAD) | (preciseLimit(options.bodyTimeout) === 0 ? 0 : PRECISE_BODY)
}

/**
 * StageLimits are one request's own header and body limits, in ms (0: none
 * of the request's): an undici dispatch's `headersTimeout` and
 * `bodyTimeout`, or its request context's `responseHeaderTimeout` and
 * `bodyTimeout`. The smaller of each and the Transport's applies. A request
 * without any has none (undefined), and costs nothing more.
 */
export interface StageLimits {
  readonly head: number
  readonly body: number
}

/**
 * stageLimits makes a request's {@link StageLimits} of its `head` and `body`
 * limits as given (undefined or null: none), checked as undici's `Request`
 * checks a dispatch's: a limit that is not a finite number of 0 or more
 * throws undici's `InvalidArgumentError` (`invalid headersTimeout`,
 * `invalid bodyTimeout`; `headName` names the head's, as the caller called
 * it). One beyond what a timer holds is none.
 */
export function stageLimits(head: unknown, body: unknown, headName = 'headersTimeout'): StageLimits {
  return { head: stageLimit(head, headName), body: stageLimit(body, 'bodyTimeout') }
}

/**
 * contextLimits is the {@link StageLimits} of a request context's
 * `responseHeaderTimeout` and `bodyTimeout` (core's `RequestContext`); a
 * bad one throws `RT_INVALID_REQUEST` naming it and the request.
 */
export function contextLimits(context: Readonly<RequestContext>, method: string, href: string): StageLimits {
  try {
    return stageLimits(context.responseHeaderTimeout, context.bodyTimeout, 'responseHeaderTimeout')
  } catch (error) {
    const detail = (error as Error).message
    throw new TransportError(ERR_INVALID_REQUEST, `cannot send request: ${detail} in its context, not a finite number of ms of 0 or more (${requestLabel(method, href)})`, { cause: error })
  }
}

function stageLimit(ms: unknown, name: string): number {
  if (ms === undefined || ms === null) return 0
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new errors.InvalidArgumentError(`invalid ${name}`)
  return ms > MAX_TIMER_DELAY ? 0 : ms
}

/** The stage of a response a request's own deadline watches: the head (`responseHeaderTimeout`), then each gap between body chunks (`bodyTimeout`). */
export type Stage = 'head' | 'body'

/** What a {@link StageDeadline} fails when it passes: an Exchange, a direct undici dispatch. */
export interface StageOwner {
  /** `METHOD url` without credentials, for the error. */
  readonly what: string
  /** The stage's deadline passed: fail the request with `error` (`RT_HEADERS_TIMEOUT` or `RT_BODY_TIMEOUT`). */
  timedOut(error: TransportError): void
}

/**
 * StageDeadline is a request's precise header or body deadline. undici runs
 * these limits on its coarse timers (about 1 s of resolution), and an HTTP/2
 * conn on its sweep; a limit under {@link PRECISE_BELOW}, or a request's own
 * ({@link StageLimits}), gets one of these, made by {@link armStage} on
 * first use: a request with the default limits allocates none. While the reader pauses the body it is disarmed (the gap is
 * the reader's, not the server's) and a resume arms it again.
 */
export class StageDeadline {
  readonly #deadline: Deadline
  readonly #owner: StageOwner
  #stage: Stage = 'head'
  /** The limit armed, for the error's message. */
  #ms = 0

  constructor(options: ResolvedOptions, owner: StageOwner) {
    this.#owner = owner
    this.#deadline = new Deadline(options.clock, StageDeadline.#expiry(this), true)
  }

  /** The deadline's expiry. Made by a function: a closure written in the constructor would keep its context (see exchange.ts's abort listener). */
  static #expiry(deadline: StageDeadline): () => void {
    return () => deadline.#expired()
  }

  /** Whether the timer is pending. */
  get armed(): boolean {
    return this.#deadline.armed
  }

  /** Starts the deadline of `stage`, `ms` from now. */
  arm(stage: Stage, ms: number): void {
    this.#stage = stage
    this.#ms = ms
    this.#deadline.arm(ms)
  }

  /** Restarts a pending deadline for its full delay (body bytes came). */
  refresh(): void {
    this.#deadline.refresh()
  }

  /** Stops the deadline (the response is complete or failed, or the reader paused it). */
  disarm(): void {
    this.#deadline.disarm()
  }

  #expired(): void {
    const owner = this.#owner
    const head = this.#stage === 'head'
    owner.timedOut(head ? headersTimeoutError(this.#ms, owner.what) : bodyTimeoutError(this.#ms, owner.what))
  }
}

/**
 * armStage arms the precise deadline of `stage` for `owner`, making
 * `deadline` when first needed, and returns it (undefined while no limit
 * needs one); a stage with no precise limit disarms it. The limit is the
 * smaller of the Transport's (`options`: under 1 s only, longer ones are
 * undici's) and the request's own (`limits`, whatever its size: undici's
 * Client is not told of it).
 */
export function armStage(deadline: StageDeadline | undefined, stage: Stage, options: ResolvedOptions, owner: StageOwner, limits?: StageLimits): StageDeadline | undefined {
  const shared = stage === 'head' ? options.responseHeaderTimeout : options.bodyTimeout
  const own = limits === undefined ? 0 : stage === 'head' ? limits.head : limits.body
  const mine = own > 0 && (shared <= 0 || own < shared)
  const ms = mine ? own : preciseLimit(shared)
  if (ms === 0) {
    deadline?.disarm()
    return deadline
  }
  deadline ??= new StageDeadline(options, owner)
  deadline.arm(stage, ms)
  return deadline
}

/**
 * headersTimeoutError: no response head within `ms` (`what` names the
 * request). Its cause is undici's `HeadersTimeoutError` (`cause`, undici's
 * own, when its timer fired), whichever timer fired: precise, undici's, or
 * an HTTP/2 conn's sweep, so a caller sees one error for one failure, and
 * Node's fetch's (`UND_ERR_HEADERS_TIMEOUT`) through systemCause.
 */
export function headersTimeoutError(ms: number, what: string, cause: unknown = new errors.HeadersTimeoutError()): TransportError {
  return new TransportError(ERR_HEADERS_TIMEOUT, `no response head within ${ms} ms (${what})`, { cause })
}

/** bodyTimeoutError: no response body bytes for `ms`; its cause is undici's `BodyTimeoutError`, as for {@link headersTimeoutError}. */
export function bodyTimeoutError(ms: number, what: string, cause: unknown = new errors.BodyTimeoutError()): TransportError {
  return new TransportError(ERR_BODY_TIMEOUT, `no response body data for ${ms} ms (${what})`, { cause })
}

/** connectTimeoutError: the dial (TCP, proxy, tunnel, TLS) took longer than `ms`. */
export function connectTimeoutError(ms: number, what: string, cause?: unknown): TransportError {
  return new TransportError(ERR_CONNECT_TIMEOUT, `connect timed out after ${ms} ms (${what})`, cause === undefined ? undefined : { cause })
}

/** idleExpired: whether a connection idle since `idleAt` (-1 when busy) is past `limit` ms at `now` (0 means no limit). */
export function idleExpired(idleAt: number, limit: number, now: number): boolean {
  return limit > 0 && idleAt >= 0 && now - idleAt >= limit
}

/** What a connection's idle deadline is made of: its limit in ms (0: none) and whether it may be reused at all. */
export interface IdleLimit {
  idleLimit: number
  reusable: boolean
  /** The last `Keep-Alive` value applied: a server sends the same one with every response. */
  keepAliveHint?: string | undefined
}

/**
 * applyConnHeader applies a response header that speaks of the connection
 * (`lower`, its lower-case name): `Connection: close` makes it single-use,
 * `Keep-Alive` may shorten its idle limit. Other headers change nothing.
 */
export function applyConnHeader(conn: IdleLimit, lower: string, value: string): void {
  if (lower === 'connection') {
    if (/\bclose\b/i.test(value)) conn.reusable = false
  } else if (lower === 'keep-alive') applyKeepAliveHint(conn, value)
}

/**
 * applyConnHeaders applies, of a response head's `pairs` (`[name, value, …]`,
 * strings or undici's latin1 Buffers), the headers that speak of the
 * connection (see {@link applyConnHeader}). Only a name of 10 characters
 * (`connection`, `keep-alive`) is made a string.
 */
export function applyConnHeaders(conn: IdleLimit, pairs: ReadonlyArray<string | Buffer>): void {
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i]!
    if (name.length === 10) applyConnHeader(conn, latin1(name).toLowerCase(), latin1(pairs[i + 1]!))
  }
}

/**
 * applyKeepAliveHint shortens a connection's idle limit to the server's
 * `Keep-Alive: timeout=N` (seconds), minus a 1 s margin so that the client
 * gives up on the connection before the server closes it. A hint that
 * leaves nothing makes the connection single-use; one beyond what a timer
 * holds is ignored.
 */
export function applyKeepAliveHint(conn: IdleLimit, value: string): void {
  // Applying a hint again changes nothing: skip the parse.
  if (conn.keepAliveHint === value) return
  conn.keepAliveHint = value
  const match = /timeout=(\d+)/i.exec(value)
  if (match === null) return
  const hint = Number(match[1]) * 1000 - 1000
  if (hint <= 0) conn.reusable = false
  else if (hint >= MAX_TIMER_DELAY) return
  else if (conn.idleLimit === 0 || hint < conn.idleLimit) conn.idleLimit = hint
}

/**
 * waitTimeoutError is the error of a request that waited `maxWaitTime` for
 * a connection of `pool` (`RT_POOL_EXHAUSTED`): it names the requests
 * holding the connections, for how long at `now`, and how to fix it.
 */
export function waitTimeoutError(pool: HostPool, options: ResolvedOptions, what: string, now: number): TransportError {
  const stats = hostStats(pool, now)
  return new TransportError(
    ERR_POOL_EXHAUSTED,
    `no connection to ${pool.key} within maxWaitTime ${options.maxWaitTime} ms (${what}): ` +
      `${pool.conns} of ${options.maxConnsPerHost} connections open, ${stats.active} busy, held by ${describeHolders(stats.holders)}. ` +
      'A response whose body is never read nor cancelled holds its connection: read it or call response.body?.cancel().',
  )
}
