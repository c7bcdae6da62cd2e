import {
  ERR_BODY_USED,
  abortBody,
  forwardLifecycle,
  RoundTripError,
  isRoundTripError,
  observeBody,
  redactUrl,
  rethrowLater,
  type BodyOutcome,
  type Closable,
  type RoundTripper,
} from '@roundtrip/core'
import type { LeakTracker } from './leak-tracker.js'
import { ERR_BODY_RECLAIMED, LeakError, type Leak, type LeakKind, type OpenBody } from './leak.js'
import type { LeakTrackerOptions } from './options.js'
import { StackCapturer, callerLocation } from './stack.js'
import { warnLeak } from './warn.js'

/** How many leaks found between two `assertNoLeaks()` calls are kept for it. */
const MAX_REPORTED = 100

/** One tracked response: what it was, never the response itself (that would keep it from being collected). */
class Tracked {
  settled = false
  reported = false
  ref: WeakRef<Response> | undefined = undefined
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly stack: string | undefined,
    readonly start: number,
  ) {}
}

function info(t: Tracked, now: number): OpenBody {
  return {
    method: t.method,
    url: redactUrl(t.url),
    status: t.status,
    ageMs: now - t.start,
    stack: t.stack,
    requestedAt: callerLocation(t.stack),
  }
}

/** The state behind a {@link LeakTracker}; see `leakTracker()` for the behaviour. */
export class Tracker {
  #onLeak: (leak: Leak) => void
  #maxAge: number
  #reclaim: boolean
  #stacks: StackCapturer | undefined
  /** Open bodies younger than maxAge, in delivery order (so oldest first). */
  #open = new Set<Tracked>()
  /** Open bodies already reported as aged and not reclaimed. */
  #stale = new Set<Tracked>()
  /** Leaks found since the last assertNoLeaks() whose bodies are no longer open. */
  #reported: Leak[] = []
  #timer: NodeJS.Timeout | undefined
  #disposed = false
  #exitListener: (() => void) | undefined

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
    this.#onLeak = options.onLeak ?? warnLeak
    this.#maxAge = maxAge
    this.#reclaim = options.reclaim === true
    this.#stacks = capture === false ? undefined : new StackCapturer(capture === 'full' ? 'full' : 'caller')
    if (options.reportOnExit === true) {
      this.#exitListener = () => this.#reportAtExit()
      process.on('exit', this.#exitListener)
    }
  }

  wrap(next: RoundTripper & Closable): RoundTripper & Closable {
    const roundTrip = (request: Request): Promise<Response> => {
      if (this.#disposed) return next.roundTrip(request)
      const stack = this.#stacks?.capture(roundTrip)
      return next.roundTrip(request).then((response) => this.#track(request, response, stack))
    }
    // A wrapper forwards the lifecycle of what it wraps (the RoundTripper contract).
    return { roundTrip, ...forwardLifecycle(next) }
  }

  #track(request: Request, response: Response, stack: string | undefined): Response {
    if (this.#disposed) return response
    const tracked = new Tracked(request.method, request.url, response.status, stack, performance.now())
    let observed: Response
    try {
      observed = observeBody(response, (outcome) => this.#settle(tracked, outcome))
    } catch (error) {
      // A layer below already took the body (it is reading it): not ours to track.
      if (isRoundTripError(error, ERR_BODY_USED)) return response
      throw error
    }
    // A null body settles before observeBody returns.
    if (tracked.settled) return observed
    if (this.#reclaim) tracked.ref = new WeakRef(observed)
    this.#open.add(tracked)
    if (this.#maxAge > 0 && this.#timer === undefined) this.#arm(this.#maxAge)
    return observed
  }

  #settle(tracked: Tracked, outcome: BodyOutcome): void {
    tracked.settled = true
    if (!this.#open.delete(tracked)) this.#stale.delete(tracked)
    if (outcome === 'collected' && !tracked.reported && !this.#disposed) this.#report(tracked, 'collected', false)
  }

  #report(tracked: Tracked, kind: LeakKind, reclaimed: boolean): void {
    tracked.reported = true
    const leak: Leak = { ...info(tracked, performance.now()), kind, reclaimed }
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
    for (const tracked of this.#open) {
      const due = tracked.start + this.#maxAge - now
      if (due > 0) {
        this.#arm(due)
        return
      }
      this.#open.delete(tracked)
      this.#stale.add(tracked)
      const reclaimed = this.#reclaim && this.#reclaimBody(tracked)
      this.#report(tracked, 'aged', reclaimed)
    }
  }

  /** Cancels the body if nobody is reading it; reports whether it did. */
  #reclaimBody(tracked: Tracked): boolean {
    const response = tracked.ref?.deref()
    // Read from, or locked by a reader: someone is reading it (maybe slowly); leave it to them.
    if (response === undefined || response.bodyUsed || response.body?.locked !== false) return false
    const reason = new RoundTripError(
      ERR_BODY_RECLAIMED,
      `leak tracker: cancelled the body of ${tracked.method} ${redactUrl(tracked.url)}, still unread after ${this.#maxAge} ms (maxAge)`,
    )
    // Settles the body as 'cancel' (and so untracks it) before returning.
    return abortBody(response, reason)
  }

  #all(): Tracked[] {
    return [...this.#stale, ...this.#open]
  }

  outstanding(): Leak[] {
    const now = performance.now()
    return this.#all().map((t) => ({ ...info(t, now), kind: 'open', reclaimed: false }))
  }

  assertNoLeaks(): void {
    const open = this.#all()
    const leaks = [...this.#reported, ...this.outstanding()]
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
    if (this.#exitListener !== undefined) process.off('exit', this.#exitListener)
    this.#exitListener = undefined
    this.#open.clear()
    this.#stale.clear()
    this.#reported = []
  }
}

