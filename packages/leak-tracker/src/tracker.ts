import {
  ERR_BODY_USED,
  abortBody,
  attachHooks,
  bodyHold,
  detachHooks,
  forwardLifecycle,
  declareResolvesResponse,
  RoundTripError,
  isBodyUnread,
  isRoundTripError,
  observeBody,
  redactUrl,
  rethrowLater,
  tryRoundTrip,
  type BodyOutcome,
  type Closable,
  type RoundTripper,
} from '@roundtrip/core'
import { DeadlockBreaker } from './breaker.js'
import { ERR_BODY_RECLAIMED, LeakError, type Held, type Leak, type LeakKind, type OpenBody } from './leak.js'
import { DEFAULT_BREAK_DEADLOCKS_AFTER, type LeakTrackerOptions, type ReportLevel } from './options.js'
import { DEFAULT_MAX_STACKS_PER_SECOND, StackSampler } from './sampler.js'
import { StackCapturer, callerLocation, toPattern } from './stack.js'
import { watchQueue } from './queued.js'
import { CallsInFlight } from './calls.js'
import { BodyList, Scope, Tracked, openBody as info, type ConnListener } from './tracked.js'
import { warnLeak } from './warn.js'
import { channels } from './channels.js'
import { startDebug } from './debug.js'

/** How many leaks found between two `assertNoLeaks()` calls are kept for it. */
const MAX_REPORTED = 100

/** LeakSummary counts what a tracker has seen; see `summary()`. */
export interface LeakSummary {
  /** Bodies open right now. */
  open: number
  /** Of those, bodies holding a connection right now. */
  openHoldingConnection: number
  /** Leaks found since the tracker was made (collected, aged, blocking, exit), by what they held. */
  leaked: Record<Held, number>
  /** Bodies the tracker cancelled (`reclaim`, `breakDeadlocks`). */
  reclaimed: number
  /** Leaks found but not passed to `onLeak` (`report`, `ignoreLibraries`). */
  unreported: number
}

/** The state behind a {@link LeakTracker}; see `leakTracker()` for the behaviour. */
export class Tracker implements ConnListener {
  #onLeak: (leak: Leak) => void
  #level: ReportLevel
  #ignoreLibraries: ReadonlySet<string>
  #maxAge: number
  #reclaim: boolean
  #stacks: StackCapturer | undefined
  #sampler: StackSampler
  #breaker: DeadlockBreaker | undefined
  /** Open bodies younger than maxAge, in delivery order (so oldest first). */
  #open = new BodyList()
  /** Open bodies already reported as aged and not reclaimed, oldest first (older than every body in #open). */
  #stale = new BodyList()
  /** Both lists, oldest bodies first. */
  #lists: readonly BodyList[] = [this.#stale, this.#open]
  /** Calls made and not settled yet (to find the one a `queued` or `dequeued` message names). */
  #calls = new CallsInFlight()
  /** Leaks reported since the last assertNoLeaks() whose bodies are no longer open. */
  #reported: Leak[] = []
  #counts: LeakSummary = { open: 0, openHoldingConnection: 0, leaked: { connection: 0, memory: 0, unknown: 0 }, reclaimed: 0, unreported: 0 }
  #timer: NodeJS.Timeout | undefined
  #disposed = false
  #exitListener: (() => void) | undefined
  /** Stops the process-wide `queued` subscription counting this tracker. */
  #unwatchQueue: () => void

  constructor(options: LeakTrackerOptions) {
    const maxAge = options.maxAge ?? 0
    if (!(maxAge >= 0) || !Number.isFinite(maxAge)) {
      throw new RangeError(`leakTracker: maxAge must be a finite number of ms >= 0, got ${String(options.maxAge)}`)
    }
    if (options.reclaim === true && maxAge === 0) {
      throw new RangeError('leakTracker: reclaim needs maxAge (the age in ms after which an open body is reclaimed)')
    }
    if (options.onLeak !== undefined && typeof options.onLeak !== 'function') {
      throw new TypeError(`leakTracker: onLeak must be a function, got ${typeof options.onLeak}`)
    }
    const capture = options.captureStack ?? 'caller'
    if (capture !== true && capture !== false && capture !== 'caller' && capture !== 'full') {
      throw new TypeError(`leakTracker: captureStack must be 'caller', 'full', true or false, got ${String(capture)}`)
    }
    const report = options.report ?? 'connection'
    if (report !== 'connection' && report !== 'all') {
      throw new TypeError(`leakTracker: report must be 'connection' or 'all', got ${String(report)}`)
    }
    const breakAfter = options.breakDeadlocks === true ? DEFAULT_BREAK_DEADLOCKS_AFTER : (options.breakDeadlocks ?? 0)
    if (typeof breakAfter !== 'number' || !(breakAfter >= 0) || !Number.isFinite(breakAfter)) {
      throw new RangeError(`leakTracker: breakDeadlocks must be a boolean or a finite number of ms >= 0, got ${String(options.breakDeadlocks)}`)
    }
    const ignore = options.ignore ?? []
    if (!Array.isArray(ignore)) throw new TypeError('leakTracker: ignore must be an array of strings or RegExps')
    const libraries = options.ignoreLibraries ?? []
    if (!Array.isArray(libraries) || libraries.some((l) => typeof l !== 'string')) {
      throw new TypeError('leakTracker: ignoreLibraries must be an array of npm package names')
    }
    this.#onLeak = options.onLeak ?? warnLeak
    this.#level = report
    this.#ignoreLibraries = new Set(libraries)
    this.#maxAge = maxAge
    this.#reclaim = options.reclaim === true
    const patterns = ignore.map(toPattern)
    this.#stacks = capture === false ? undefined : new StackCapturer(capture === 'full' ? 'full' : 'caller', patterns)
    const perSecond = options.maxStacksPerSecond ?? DEFAULT_MAX_STACKS_PER_SECOND
    if (typeof perSecond !== 'number' || !(perSecond >= 0)) {
      throw new RangeError(`leakTracker: maxStacksPerSecond must be a number >= 0 (Infinity: every request), got ${String(options.maxStacksPerSecond)}`)
    }
    this.#sampler = new StackSampler(perSecond)
    if (breakAfter > 0) {
      this.#breaker = new DeadlockBreaker(
        breakAfter,
        this.#lists,
        (body) => this.#unread(body),
        (body, waiter) => this.#breakFor(body, waiter),
      )
    }
    this.#unwatchQueue = watchQueue(this)
    startDebug()
    if (options.reportOnExit === true) {
      // Bound, not a literal: V8 puts a function literal assigned to a property in the old generation.
      this.#exitListener = this.#reportAtExit.bind(this)
      process.on('exit', this.#exitListener)
    }
  }

  wrap(next: RoundTripper & Closable): RoundTripper & Closable {
    // Pool keys are per Transport: a body only blocks requests sent to the same `next`.
    const scope = new Scope(this)
    const roundTrip = (request: Request): Promise<Response> => {
      if (this.#disposed) return tryRoundTrip(next, request)
      const stacks = this.#stacks
      const stack = stacks !== undefined && this.#sampler.wants(request.method, request.url) ? stacks.capture(roundTrip) : undefined
      const tracked = new Tracked(scope, request, stack)
      this.#calls.add(tracked)
      // While the bodies from `next` declare what they hold, that and the
      // Transport's `queued` and `dequeued` messages are the facts, and the
      // call needs no trace. Its promise's reactions are then the record's
      // own methods (bound: no closure, no context).
      if (scope.declares) return tryRoundTrip(next, request).then(tracked.delivered.bind(tracked), tracked.failed.bind(tracked))
      return this.#tracedCall(next, request, tracked)
    }
    // A wrapper forwards the lifecycle of what it wraps (the RoundTripper contract).
    // It resolves with the response `next` gave (checked at next's own boundary
    // in a chain): it declares so, and chain() adds no check of its own per call.
    // (Declared non-enumerable, so a user layer spread from this one does not copy it.)
    const wrapped: RoundTripper & Closable = declareResolvesResponse({ roundTrip, ...forwardLifecycle(next) })
    return wrapped
  }

  /**
   * tracedCall makes the call of `tracked` with the record attached as a
   * trace of the call for the layers below (the Transport calls it after
   * the caller's own): attached to the call, not written into the caller's
   * request, and detached once the head arrived. Not an async function: its
   * state, promise and await cost more than two closures made here. Apart
   * from roundTrip, so that a call without a trace makes no context for
   * these closures. tryRoundTrip: a synchronous throw from `next` and a
   * rejection end the call the same way.
   */
  #tracedCall(next: RoundTripper, request: Request, tracked: Tracked): Promise<Response> {
    attachHooks(request, tracked)
    return tryRoundTrip(next, request).then(
      (response) => {
        detachHooks(request, tracked)
        return this.#track(tracked, response, true)
      },
      (error: unknown) => {
        detachHooks(request, tracked)
        this.#untrack(tracked)
        throw error
      },
    )
  }

  gotConn(tracked: Tracked): void {
    this.#breaker?.done(tracked)
  }

  queued(waiter: Tracked): void {
    if (this.#disposed) return
    for (const list of this.#lists) {
      for (let body = list.first; body !== undefined; body = body.next) {
        if (body.scope === waiter.scope && body.key === waiter.key && body.holdsConn) body.waiters++
      }
    }
    this.#breaker?.waiting(waiter)
  }

  queuedRequest(request: Request, key: string): void {
    const call = this.#calls.of(request)
    if (call === undefined) return
    call.key = key
    this.queued(call)
  }

  dequeuedRequest(request: Request): void {
    // Only the breaker counts requests waiting: without one, no lookup.
    if (this.#breaker === undefined) return
    const call = this.#calls.of(request)
    if (call !== undefined) this.#breaker.done(call)
  }

  /** The call of `tracked` settled (a response or an error): it no longer looks for, or waits for, a connection. */
  #untrack(tracked: Tracked): void {
    this.#calls.delete(tracked)
    // Not looking for a connection any more either: the list of requests that
    // do is cleared at the end of the Transport's getConn call (queued.ts).
    tracked.call = undefined
    this.#breaker?.done(tracked)
  }

  delivered(tracked: Tracked, response: Response): Response {
    return this.#track(tracked, response, false)
  }

  failed(tracked: Tracked): void {
    this.#untrack(tracked)
  }

  #track(tracked: Tracked, response: Response, traced: boolean): Response {
    this.#untrack(tracked)
    if (this.#disposed) return response
    tracked.status = response.status
    tracked.start = performance.now()
    let observed: Response
    try {
      observed = observeBody(response, tracked)
    } catch (error) {
      // A layer below already took the body (it is reading it): not ours to track.
      if (isRoundTripError(error, ERR_BODY_USED)) return response
      throw error
    }
    // A null body settles before observeBody returns.
    if (tracked.settled) return observed
    const hold = bodyHold(observed)
    tracked.scope.declares = hold !== undefined
    if (hold !== undefined) tracked.declare(hold.pool, hold.released)
    // Neither declared nor traced: the `queued` message's key says where it waited, not what its body holds.
    else if (!traced) tracked.key = undefined
    if (this.#reclaim || this.#breaker !== undefined) tracked.ref = new WeakRef(observed)
    this.#open.add(tracked)
    if (this.#maxAge > 0 && this.#timer === undefined) this.#arm(this.#maxAge)
    if (tracked.holdsConn) this.#breaker?.delivered()
    return observed
  }

  settled(tracked: Tracked, outcome: BodyOutcome): void {
    tracked.settled = true
    tracked.list?.delete(tracked)
    if (outcome === 'collected' && !tracked.reported && !this.#disposed) this.#report(tracked, 'collected', false)
  }

  #shouldReport(leak: Leak): boolean {
    if (leak.held === 'memory' && this.#level !== 'all') return false
    for (const name of leak.via) if (this.#ignoreLibraries.has(name)) return false
    return true
  }

  #report(tracked: Tracked, kind: LeakKind, reclaimed: boolean): void {
    tracked.reported = true
    const leak: Leak = { ...info(tracked, performance.now()), kind, reclaimed }
    if (this.#stacks !== undefined) this.#sampler.leaked(tracked.method, tracked.url, tracked.stack !== undefined)
    this.#counts.leaked[leak.held]++
    if (reclaimed) this.#counts.reclaimed++
    const reported = this.#shouldReport(leak)
    if (channels.leak.hasSubscribers) channels.leak.publish({ leak, reported })
    if (!reported) {
      this.#counts.unreported++
      return
    }
    if (kind === 'collected' || reclaimed) {
      if (this.#reported.length >= MAX_REPORTED) this.#reported.shift()
      this.#reported.push(leak)
    }
    try {
      this.#onLeak(leak)
    } catch (error) {
      rethrowLater(error)
    }
  }

  // One timer per tracker, due when the oldest open body reaches maxAge.
  #arm(delay: number): void {
    this.#timer = setTimeout(this.#sweep, delay)
    this.#timer.unref()
  }

  #sweep = (): void => {
    this.#timer = undefined
    const now = performance.now()
    for (let tracked = this.#open.first; tracked !== undefined; tracked = this.#open.first) {
      const due = tracked.start + this.#maxAge - now
      if (due > 0) {
        this.#arm(due)
        return
      }
      this.#open.delete(tracked)
      this.#stale.add(tracked)
      const reclaimed =
        this.#reclaim &&
        this.#reclaimBody(tracked, `still unread after ${this.#maxAge} ms (maxAge)`)
      this.#report(tracked, 'aged', reclaimed)
    }
  }

  /** Whether nobody has started reading the body: not read from, not locked by a reader. */
  #unread(tracked: Tracked): boolean {
    const response = tracked.ref?.deref()
    // Not `response.body?.locked`: reading `body` makes a lazy body's stream.
    return response !== undefined && isBodyUnread(response)
  }

  #breakFor(body: Tracked, waiter: Tracked): boolean {
    const why = `unread for ${Math.round(performance.now() - body.start)} ms while ${waiter.method} ${redactUrl(waiter.url)} waited for a connection to ${body.key} (breakDeadlocks: ${this.#breaker!.after} ms)`
    if (!this.#reclaimBody(body, why)) return false
    this.#report(body, 'blocking', true)
    return true
  }

  /** Cancels the body if nobody is reading it; reports whether it did. */
  #reclaimBody(tracked: Tracked, why: string): boolean {
    if (!this.#unread(tracked)) return false
    const at = callerLocation(tracked.stack)
    const reason = new RoundTripError(
      ERR_BODY_RECLAIMED,
      `leak tracker: cancelled the body of ${tracked.method} ${redactUrl(tracked.url)}${at === undefined ? '' : ` (requested at ${at})`}, ${why}`,
    )
    // Keep the facts as they were: the cancel makes the Transport close the connection.
    const held = { connEnd: tracked.connEnd, arrived: tracked.arrived }
    // Settles the body as 'cancel' (and so untracks it) before returning.
    const done = abortBody(tracked.ref!.deref()!, reason)
    if (done && held.connEnd === undefined) tracked.connEnd = performance.now()
    tracked.arrived = held.arrived
    return done
  }

  /** The open bodies, oldest first (for the on-demand reports, not the request path). */
  #all(): Tracked[] {
    return [...this.#stale.toArray(), ...this.#open.toArray()]
  }

  outstanding(): Leak[] {
    const now = performance.now()
    return this.#all().map((t) => ({ ...info(t, now), kind: 'open', reclaimed: false }))
  }

  summary(): LeakSummary {
    const all = this.#all()
    return {
      ...this.#counts,
      leaked: { ...this.#counts.leaked },
      open: all.length,
      openHoldingConnection: all.filter((t) => t.holdsConn).length,
    }
  }

  assertNoLeaks(): void {
    const open = this.#all()
    const leaks = [...this.#reported, ...this.outstanding().filter((leak) => this.#shouldReport(leak))]
    this.#reported = []
    for (const t of open) t.reported = true
    this.#open.clear()
    this.#stale.clear()
    if (leaks.length > 0) throw new LeakError(leaks)
  }

  #reportAtExit(): void {
    for (const t of this.#all()) if (!t.reported) this.#report(t, 'exit', false)
  }

  dispose(): void {
    this.#disposed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#breaker?.dispose()
    this.#unwatchQueue()
    if (this.#exitListener !== undefined) process.off('exit', this.#exitListener)
    this.#exitListener = undefined
    this.#open.clear()
    this.#stale.clear()
    this.#calls.clear()
    this.#reported = []
  }
}
